"""catalog_scale: storefront reads with 1,000 vs 100,000 stores (run the package)."""
