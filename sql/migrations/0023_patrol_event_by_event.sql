-- Events, operations and analysis are traceable to one another (Regulation 2019/1896 Art 24(2)):
-- a patrol report links the events it observed (patrol_event, from GPX waypoints), and the
-- picture shows it both ways: an event's popup and list row name the patrols that observed it,
-- a patrol track's tooltip counts its events. The primary key (patrol_id, event_id) serves the
-- second; this index the first, one probe per event drawn.
CREATE INDEX patrol_event_event_idx ON patrol_event (event_id);
