"""Wire formats of the dialer's API family (Convoso): see leads.wire."""
