-- Restricted objects (Regulation (EU) 2019/1896 Art 25(4): the NCC may restrict information,
-- for example on military assets). A tracked object marked `restricted` (`nsp objects
-- restrict ID`) is seen, with its positions, only by scopes that see every section: the NCC's
-- watch officers and analysts, its own wall, the system. A sector commander or a wall of some
-- sections does not see it, even in a section of theirs.
--
-- The flag is kept on each position too (set by `nsp objects restrict` for the stored ones,
-- by the ingest merge for new ones), so that the policy is a column test: a policy that
-- looked the object up would need a SECURITY DEFINER function, which any app user could call
-- to list the restricted ids.

ALTER TABLE tracked_object ADD COLUMN restricted boolean NOT NULL DEFAULT false;
ALTER TABLE asset_position ADD COLUMN restricted boolean NOT NULL DEFAULT false;

CREATE POLICY hide_restricted ON asset_position AS RESTRICTIVE FOR SELECT TO nsp_app
    USING ((SELECT nsp_scope_all()) OR NOT restricted);

-- Static data (name, call sign, type) of a restricted object: the same rule. Ingest writes
-- as the owner, or as the system scope.
ALTER TABLE tracked_object ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON tracked_object FOR SELECT TO nsp_app
    USING ((SELECT nsp_scope_all()) OR NOT restricted);
CREATE POLICY system_write ON tracked_object FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');
