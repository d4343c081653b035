-- What changes in Genius between the first and the second sync.
UPDATE prospect SET email = 'david.kim@example.org', updated_at = '2024-02-01 09:00:00' WHERE id = 2;
INSERT INTO prospect (id, division_id, user_id, first_name, last_name, city, state, zip, phone1, email, add_user_id, add_date, third_party_source_id)
  VALUES (5, 12, 202, 'Ravi', 'Patel', 'Denver', 'CO', '80205', '(720) 555-0133', 'r.patel@example.com', 202, '2024-02-02 10:00:00', NULL);
UPDATE quote SET status_id = 3, updated_at = '2024-02-03 12:00:00' WHERE id = 802;
UPDATE `lead` SET status = 'converted', copied_to_id = 5, updated_at = '2024-02-02 10:05:00' WHERE lead_id = 3001;
INSERT INTO job_change_order (id, job_id, number, status_id, type_id, total_amount, add_user_id, add_date)
  VALUES (1103, 901, 2, 1, 1, 450.00, 202, '2024-02-05 14:00:00');
UPDATE job_status SET label = 'In Production (crew assigned)' WHERE id = 2;
INSERT INTO appointment_type VALUES (4, 'Warranty Visit', 1);
