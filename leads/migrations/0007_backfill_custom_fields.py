"""Fill the custom field registry from the custom fields the leads already hold (once)."""

from django.db import migrations


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    CustomField = apps.get_model("leads", "CustomField")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        sql = (
            "SELECT DISTINCT k, false FROM leads_lead, jsonb_object_keys(custom_fields) k UNION "
            "SELECT DISTINCT k, true FROM leads_lead, jsonb_object_keys(custom_field_sets) k"
        )
    else:
        sql = (
            "SELECT DISTINCT j.key, 0 FROM leads_lead, json_each(leads_lead.custom_fields) j "
            "UNION SELECT DISTINCT j.key, 1 "
            "FROM leads_lead, json_each(leads_lead.custom_field_sets) j"
        )
    del Lead  # the table is read by SQL: one pass, whatever its size
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = {}
        for name, is_set in cursor.fetchall():
            found[name] = found.get(name, False) or bool(is_set)
    CustomField.objects.bulk_create(
        [
            CustomField(name=name, is_set=is_set, data_type="CustomObject" if is_set else "String")
            for name, is_set in sorted(found.items())
            if len(name) <= 255
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_staff_search_indexes_custom_field")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
