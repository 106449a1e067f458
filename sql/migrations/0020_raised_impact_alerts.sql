-- An event the NCC raises to high or very high impact is announced again (the main page's
-- alert bar, the wall's banners), as a report received then would be: picture_recent_high asks
-- for events received, or decided on, since a time. This index holds only the events whose
-- impact the NCC decided (0019_event_decisions.sql), so that OR is two index probes.
CREATE INDEX event_impact_decided_idx ON event (impact_decided_at) WHERE impact_decided_at IS NOT NULL;
