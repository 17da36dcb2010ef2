"""ODIBI v1-style transform functions for this example (found because this file sits beside odibi.yaml)."""

from odibi.transforms import transform


@transform
def enrich_with_customer_data(context, customers_table):
    """Add each sale's customer name and segment (v1 context style: pandas DataFrames by node name)."""
    sales = context.get("df")
    customers = context.get(customers_table)[["customer_id", "customer_name", "segment"]]
    enriched = sales.merge(customers, on="customer_id", how="left")
    enriched["customer_name"] = enriched["customer_name"].fillna("unknown customer")
    enriched["segment"] = enriched["segment"].fillna("unassigned")
    return enriched
