-- Between the first and the second sync: E-5002 is re-run and sold, E-5004's answers are
-- fixed, a customer is added.
UPDATE lead_results SET lead_results = '[{"title":"Result","value":"Sold"},{"title":"Both Homeowners Present","value":"Yes"},{"title":"Job Type 1","value":"Gutters"},{"title":"Job Type 1 Amount","value":"$1,100"}]',
  updated_at = '2024-02-01 12:00:00' WHERE estimate_id = 'E-5002';
UPDATE lead_results SET lead_results = '[{"title":"Appointment Result","value":"Sold"},{"title":"Job Type 1","value":"Windows"},{"title":"Job Type 1 Amount","value":"4,400"}]',
  updated_at = '2024-02-01 13:00:00' WHERE estimate_id = 'E-5004';
UPDATE estimate SET sale_amount = 1100.00, is_sale = true, updated_at = '2024-02-01 12:05:00' WHERE estimate_id = 'E-5002';
INSERT INTO customer VALUES ('C-1004', 'E-5004', 'CO-1', 'Acme Exteriors', 'Lee', 'Chan', 'hubspot', '110', '2024-02-01 08:00:00');
