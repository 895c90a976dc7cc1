from rest_framework.pagination import LimitOffsetPagination

# Above SQLite's and PostgreSQL's 64-bit integers an offset would be a database error.
MAX_OFFSET = 2**62


class CappedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)
