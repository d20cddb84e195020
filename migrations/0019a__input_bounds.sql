-- depends: 0014__catalog_collections_search_sales
-- Issue 19: every text field bounded in the database too, with the lengths of
-- services/common/limits.py (README "Limits"), so a path that skips validation still cannot
-- store a 5 MiB description. Each constraint is added NOT VALID, then validated, one
-- subcommand per ALTER: the form that lets a large table be checked without blocking writes
-- when run outside one transaction. (stores.name and products.title, product_type and vendor
-- are bounded since 0002, 0003 and 0014; collections since 0014.)

ALTER TABLE products ADD CONSTRAINT products_handle_bounded
    CHECK (char_length(handle) <= 255) NOT VALID;
ALTER TABLE products VALIDATE CONSTRAINT products_handle_bounded;
ALTER TABLE products ADD CONSTRAINT products_description_bounded
    CHECK (char_length(description) <= 65535) NOT VALID;
ALTER TABLE products VALIDATE CONSTRAINT products_description_bounded;

ALTER TABLE variants ADD CONSTRAINT variants_sku_bounded
    CHECK (char_length(sku) <= 64) NOT VALID;
ALTER TABLE variants VALIDATE CONSTRAINT variants_sku_bounded;
ALTER TABLE variants ADD CONSTRAINT variants_title_bounded
    CHECK (char_length(title) <= 255) NOT VALID;
ALTER TABLE variants VALIDATE CONSTRAINT variants_title_bounded;

ALTER TABLE product_handle_redirects ADD CONSTRAINT product_handle_redirects_handle_bounded
    CHECK (char_length(handle) <= 255) NOT VALID;
ALTER TABLE product_handle_redirects VALIDATE CONSTRAINT product_handle_redirects_handle_bounded;

ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_name_bounded
    CHECK (char_length(name) BETWEEN 1 AND 100) NOT VALID;
ALTER TABLE api_tokens VALIDATE CONSTRAINT api_tokens_name_bounded;
