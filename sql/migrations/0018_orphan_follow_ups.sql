-- Follow-up reports that arrive before their first report. The files of one feed can arrive,
-- or be taken by the workers, out of order; a follow-up whose parent_ref named no stored event
-- used to be kept as a first report for good, drawn and counted as an event of its own. It
-- now keeps the ref in attrs.nsp_parent_ref (ingest_mark_orphans) and is linked when its first
-- report is stored (ingest_adopt_orphans, after every batch's events). This index holds only
-- those waiting follow-ups, so the check after a batch is one probe of an index that is
-- empty most of the time.
CREATE INDEX event_orphan_idx ON event (source) WHERE parent_id IS NULL AND attrs ? 'nsp_parent_ref';
