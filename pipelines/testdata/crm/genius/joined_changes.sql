-- Third round: only joined rows change. Prospect 1's HubSpot contact is re-linked,
-- appointment 501's HubSpot id is re-issued, and user 202 now reports to primary user 202.
UPDATE third_party_source SET third_party_id = '101-b', updated_at = '2024-03-01 00:00:00' WHERE id = 1;
UPDATE third_party_source SET third_party_id = 'appt-9001-b', updated_at = '2024-03-01 00:00:01' WHERE id = 4;
UPDATE users_userassociations SET primary_user_id = 202, updated_at = '2024-03-01 00:00:00' WHERE id = 2;
