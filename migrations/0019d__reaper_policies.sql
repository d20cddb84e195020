-- depends: 0019c__retention 0020__citus_ready
-- The retention reaper's own tenant policies. Since 0020 the tenant policy binds only the roles
-- named in it (shop_app, shop_eraser); without these shop_reaper would see no rows and delete
-- nothing. Same form as the tenant policy (a plain comparison with the transaction's store, no
-- sub-select): the reaper reaches one store's rows inside that store's tenant transaction. Its
-- grants (0019c) limit it to reading key and age columns and deleting; the policies say the
-- same (SELECT for its WHERE clauses, DELETE), so any other statement is refused outright.
CREATE POLICY reaper_select ON checkouts FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON checkouts FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_select ON processed_events FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON processed_events FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_select ON webhook_deliveries FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON webhook_deliveries FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_select ON webhooks FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON webhooks FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_select ON inventory_alerts FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON inventory_alerts FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_select ON sent_emails FOR SELECT TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
CREATE POLICY reaper_delete ON sent_emails FOR DELETE TO shop_reaper
    USING (store_id = current_setting('app.current_store_id')::bigint);
