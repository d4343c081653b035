-- Rows as Genius holds them. Times are naive wall-clock times of the company (America/Denver
-- in the test). Messy on purpose: prospect 3 (state by name, a ZIP without its leading zero,
-- a 7-digit phone, a mail without a top-level domain), user 3 ('n/a' mail), quote 3 (negative).
INSERT INTO division_region VALUES (1, 'Mountain', 1), (2, 'South Central', 1);
INSERT INTO division_group (id, group_label, region, default_time_zone_name, is_active, hub_account_id, created_at, updated_at) VALUES
  (1, 'Front Range', 'Mountain', 'America/Denver', 1, '2456789', '2020-01-01 09:00:00', '2023-06-01 09:00:00'),
  (2, 'Texas', 'South Central', 'America/Chicago', 1, NULL, '2021-03-01 09:00:00', NULL);
INSERT INTO division VALUES
  (12, 1, 1, 'Denver', 'DEN', 0, 0, 0, 0, 901, '2020-01-01 09:00:00', '2024-01-05 08:00:00'),
  (15, 2, 2, 'Austin', 'AUS', 0, 0, 0, 0, NULL, '2021-03-01 09:00:00', NULL),
  (16, 1, 1, 'Corporate', 'CORP', 1, 1, 1, 0, NULL, '2019-06-01 09:00:00', '2023-12-31 23:30:00');
INSERT INTO users_userassociations VALUES (1, 201, '2022-01-01 00:00:00', NULL), (2, 201, '2022-01-01 00:00:00', NULL);
INSERT INTO user_data (user_id, division_id, title_id, manager_user_id, first_name, last_name, email, personal_email, birth_date,
  time_zone_name, hired_on, start_date, add_user_id, add_datetime, updated_at, is_inactive, user_associations_id) VALUES
  (201, 12, 1, NULL, 'Carlos', 'Ruiz', 'cruiz@example.com', 'carlos.r@example.net', '1985-04-12', 'America/Denver', '2019-05-01', '2019-05-06', 1, '2019-05-01 10:00:00', '2024-01-02 11:00:00', 0, 1),
  (202, 12, 2, 201, 'Dana', 'White', 'dwhite@example.com', NULL, NULL, 'America/Denver', '2021-02-01', '2021-02-08', 201, '2021-02-01 10:00:00', NULL, 0, 2),
  (203, 15, 2, 201, 'Sam', 'Otero', 'n/a', '', NULL, 'America/Chicago', '2022-07-01', NULL, 201, '2022-07-01 10:00:00', '2023-11-30 16:45:00', 1, NULL);
INSERT INTO user_title VALUES (1, 'Sales Manager', 'SM', 'sales,manager', 1, 1, 1, NULL, 1, 1, '2019-01-01 00:00:00', NULL),
  (2, 'Sales Rep', 'SR', 'sales', 1, 1, 2, NULL, 1, 0, '2019-01-01 00:00:00', '2022-02-02 02:02:02');
INSERT INTO third_party_source_type VALUES (1, 'hubspot'), (2, 'marketsharp');
INSERT INTO third_party_source VALUES (1, 1, '101', '2023-12-01 00:00:00', '2023-12-01 00:00:00'), (2, 2, 'MS-88121', '2023-12-01 00:00:00', NULL),
  (3, 1, '104', '2023-12-01 00:00:00', '2023-12-02 00:00:00'), (4, 1, 'appt-9001', '2023-12-01 00:00:00', '2023-12-03 00:00:00');
INSERT INTO prospect (id, division_id, user_id, first_name, last_name, address1, city, county, state, zip, year_built, phone1, phone2,
  email, notes, add_user_id, add_date, marketsharp_id, third_party_source_id, updated_at) VALUES
  (1, 12, 201, 'Maria', 'Gonzalez', '1420 Larimer St', 'Denver', 'Denver', 'CO', '80202', 1998, '(303) 555-0142', NULL,
   'maria.gonzalez@example.com', 'Hail damage; wants estimate before 5pm', 201, '2024-01-02 09:00:00', NULL, 1, '2024-01-10 14:30:00'),
  (2, 12, 202, 'David', 'Kim', '88 Pearl St', 'Boulder', 'Boulder', 'CO', '80302', 2004, '720.555.0199', '+1 720-555-0101',
   'dkim@example.org', NULL, 202, '2024-01-03 10:15:00', 'MS-88121', 2, NULL),
  (3, 15, 202, 'jane', 'DOE', '12 Elm St', 'Albany', 'Albany', 'new york', '2134', NULL, '555-1234', NULL,
   'jane.doe@gmail', 'called twice: no answer', 202, '2024-01-04 11:00:00', NULL, NULL, '2024-01-11 08:00:00'),
  (4, 15, 201, 'Tom', 'Baker', '400 Congress Ave', 'Austin', 'Travis', 'TX', '78701-1234', 1975, '+1 (512) 555-0177', NULL,
   'tom.baker@example.com', NULL, 201, '2024-01-05 12:00:00', NULL, 3, '2024-01-12 17:45:00');
INSERT INTO prospect_source VALUES (1, 1, 3, '2024-01-02', NULL, 201, '2024-01-02 09:01:00', NULL, 201),
  (2, 2, 4, '2024-01-03', 'home show booth', 202, '2024-01-03 10:16:00', '2024-01-04 08:00:00', 202);
INSERT INTO appointment (id, prospect_id, prospect_source_id, user_id, type_id, date, time, duration, address1, city, state, zip, email,
  add_user_id, add_date, assign_date, spouses_present, is_complete, complete_outcome_id, complete_date, updated_at, third_party_source_id) VALUES
  (501, 1, 1, 202, 1, '2024-01-15', '17:00:00', '01:30:00', '1420 Larimer St', 'Denver', 'CO', '80202', 'maria.gonzalez@example.com',
   201, '2024-01-10 14:31:00', '2024-01-10 14:35:00', 1, 1, 1, '2024-01-15 18:40:00', '2024-01-15 18:41:00', 4),
  (502, 2, 2, 202, 2, '2024-01-16', '10:00:00', '01:00:00', '88 Pearl St', 'Boulder', 'Colorado', '80302', NULL,
   202, '2024-01-04 08:05:00', NULL, NULL, 0, NULL, NULL, NULL, NULL),
  (503, 4, NULL, 201, 1, '2024-01-20', '09:30:00', '02:00:00', '400 Congress Ave', 'Austin', 'TX', '78701', 'tom.baker@example.com',
   201, '2024-01-12 17:50:00', NULL, 0, 0, NULL, NULL, '2024-01-13 09:00:00', NULL);
INSERT INTO appointment_type VALUES (1, 'Inspection', 1), (2, 'Estimate', 1), (3, 'Install Walkthrough', 0);
INSERT INTO appointment_outcome_type VALUES (1, 'Sold', 1), (2, 'No Sale', 1);
INSERT INTO appointment_to_service VALUES (501, 1, '2024-01-10 14:31:00', NULL), (501, 2, '2024-01-10 14:31:00', '2024-01-11 09:00:00'),
  (503, 1, '2024-01-12 17:50:00', NULL);
INSERT INTO service VALUES (1, 'Roofing', 1, 1, 1, '2019-01-01 00:00:00', NULL), (2, 'Gutters', 1, 0, 2, '2019-01-01 00:00:00', NULL);
INSERT INTO quote VALUES
  (801, 1, 501, 901, 100001, 1, 'Roof replacement', 'GAF Timberline HDZ, 32 squares', 12500.50, '2024-02-15', 2, NULL, 7001, 202, '2024-01-15 18:30:00', '2024-01-15 18:45:00'),
  (802, 1, 501, NULL, 100001, 2, 'Gutters', '6" seamless, 140 ft', 980.00, '2024-02-15', 1, NULL, NULL, 202, '2024-01-15 18:31:00', NULL),
  (803, 4, 503, NULL, 100002, 1, 'Credit memo', 'goodwill', -50.00, NULL, 1, NULL, NULL, 201, '2024-01-13 09:10:00', NULL);
INSERT INTO `lead` (lead_id, first_name, last_name, email, phone1, address1, city, state, zip, source, added_by, division, notes, status,
  copied_to_id, added_on, updated_at) VALUES
  (3001, 'Ana', 'Silva', 'ana.silva@example.com', '303-555-0165', '77 Colfax Ave', 'Denver', 'CO', '80203', 3, 201, 12, NULL, 'new', NULL, '2024-01-20 09:00:00', NULL),
  (3002, 'Ravi', 'Patel', 'r.patel@example.com', '(720) 555-0133', '5 Market St', 'Denver', 'CO', '80205', 4, 202, 12, 'wants call after 6', 'converted', 2, '2024-01-18 13:00:00', '2024-01-19 10:00:00'),
  (3003, 'Lee', 'Chan', '', '', NULL, 'Austin', 'TX', '78704', 4, 202, 15, NULL, 'new', NULL, '2024-01-21 15:30:00', NULL);
INSERT INTO marketing_source_type VALUES (1, 'Digital', 'Online ads', 1, 1, '2019-01-01 00:00:00', NULL), (2, 'Events', 'Home shows', 1, 2, '2019-01-01 00:00:00', '2023-01-01 00:00:00');
INSERT INTO marketing_source VALUES (3, 1, 'Google Ads', NULL, '2023-01-01', NULL, 1, '2023-01-01 00:00:00', 1, 1, NULL),
  (4, 2, 'Home Show 2024', 'Denver convention center', '2024-01-01', '2024-01-31', 1, '2023-12-01 00:00:00', 1, 0, '2024-01-02 00:00:00');
INSERT INTO job (id, client_cid, prospect_id, division_id, user_id, production_user_id, contract_date, contract_amount, job_value, sold_user_id,
  sold_date, start_date, end_date, cancel_date, install_date, status_id, permit_number, add_date, updated_at) VALUES
  (901, 100001, 1, 12, 202, 201, '2024-01-15', 12500.50, 13480.50, 202, '2024-01-15 18:45:00', '2024-02-01', NULL, NULL, '2024-02-03', 2, 'DEN-24-0001', '2024-01-15 18:50:00', '2024-01-16 08:00:00'),
  (902, 100002, 4, 15, 201, NULL, '2024-01-13', 8200.00, 8200.00, 201, '2024-01-13', NULL, NULL, '2024-01-20', NULL, 4, NULL, '2024-01-13 09:20:00', NULL);
INSERT INTO job_status VALUES (1, 'Sold', 1), (2, 'In Production', 1), (3, 'Complete', 1), (4, 'Cancelled', 1);
INSERT INTO job_financing VALUES (901, 3, 10000.00);
INSERT INTO job_change_order (id, job_id, number, status_id, type_id, effective_date, total_amount, add_user_id, add_date, sold_user_id, sold_date,
  reason_id, envelope_id, total_contract_amount, total_pre_change_orders_amount, signer_name, signer_email, updated_at) VALUES
  (1101, 901, 1, 2, 1, '2024-01-20', 980.00, 202, '2024-01-19 10:00:00', 202, '2024-01-20 11:00:00', 1, 'ENV-7f3a', 13480.50, 12500.50, 'Maria Gonzalez', 'maria.gonzalez@example.com', '2024-01-20 11:05:00'),
  (1102, 902, 1, 3, 2, NULL, -8200.00, 201, '2024-01-20 09:00:00', NULL, NULL, 2, NULL, 0.00, 8200.00, NULL, NULL, NULL);
INSERT INTO job_change_order_item VALUES (1, 1101, '6" seamless gutters, 140 ft', 980.00, '2024-01-19 10:00:00', NULL),
  (2, 1102, 'Cancel siding', -8200.00, '2024-01-20 09:00:00', NULL);
INSERT INTO job_change_order_status VALUES (1, 'Draft'), (2, 'Signed'), (3, 'Cancelled');
INSERT INTO job_change_order_type VALUES (1, 'Add'), (2, 'Cancel');
INSERT INTO job_change_order_reason VALUES (1, 'Customer request', NULL, 1), (2, 'Financing denied', 'lender declined', 1);
INSERT INTO appointment_outcome VALUES (1, 501, 1, 202, 'Sold on the spot', '2024-01-15 19:00:00', NULL),
  (2, 503, 2, 202, NULL, '2024-01-20 11:00:00', '2024-01-20 12:00:00');
INSERT INTO integration_field_definition VALUES (1, 3, 'HubSpot owner id', 'hubspot_owner_id', 1, 0, 'the owner''s numeric id', 'text'),
  (2, 3, 'HubSpot division id', 'hubspot_division_id', 0, 1, NULL, 'text');
INSERT INTO integration_field VALUES (1, 1, 201, NULL, '51234', '2023-05-01 00:00:00', NULL), (2, 2, NULL, 12, '2-3301', '2023-05-01 00:00:00', '2023-06-01 00:00:00');
INSERT INTO marketsharp_source VALUES (1, 'MS-88121', 'Home Show 2023', 0, '2023-01-01 00:00:00', NULL), (2, 'MS-88122', 'Radio', 1, '2023-01-01 00:00:00', '2023-09-01 00:00:00');
INSERT INTO marketsharp_marketing_source_map VALUES ('MS-88121', 3, '2023-01-02 00:00:00', NULL), ('MS-88122', 4, '2023-01-02 00:00:00', '2023-09-02 00:00:00');
