-- SalesPro rows. lead_results titles drift on purpose ("Appointment Result ", "Result",
-- "appointment result"); E-5004's answers are cut off (not JSON) and must be rejected.
INSERT INTO customer VALUES
  ('C-1001', 'E-5001', 'CO-1', 'Acme Exteriors', 'maria', 'GONZALEZ', 'hubspot', '101', '2024-01-10 10:00:00'),
  ('C-1002', 'E-5002', 'CO-1', 'Acme Exteriors', 'David', 'Kim', 'genius', '2', '2024-01-11 10:00:00'),
  ('', 'E-5009', 'CO-1', 'Acme Exteriors', 'No', 'Id', NULL, NULL, '2024-01-11 11:00:00'),
  (NULL, 'E-5010', 'CO-1', 'Acme Exteriors', 'Null', 'Id', NULL, NULL, '2024-01-11 12:00:00'),
  ('C-1003', NULL, 'CO-1', 'Acme Exteriors', 'tom', 'o''baker', NULL, NULL, '2024-01-12 09:00:00');
INSERT INTO estimate VALUES
  ('E-5001', 'CO-1', 'Acme Exteriors', 'OF-1', 'Denver', 'SR-7', 'Dana', 'White', 'C-1001', 'Maria', 'Gonzalez', '1420 Larimer St', 'Denver', 'CO', '80202',
   12500.50, true, 'Roofing', 10000.00, 'GreenSky', '12 months same as cash', 2500.50, true, 4, '2024-01-15 17:00:00', '2024-01-15 18:45:00'),
  ('E-5002', 'CO-1', 'Acme Exteriors', 'OF-1', 'Denver', 'SR-7', 'Dana', 'White', 'C-1002', 'David', 'Kim', '88 Pearl St', 'Boulder', 'Colorado', '80302',
   0.00, false, 'Gutters', NULL, NULL, NULL, NULL, false, 1, '2024-01-16 10:00:00', '2024-01-16 11:30:00'),
  ('E-5003', 'CO-1', 'Acme Exteriors', 'OF-2', 'Austin', 'SR-9', 'Sam', 'Otero', 'C-1003', 'Tom', 'Baker', '400 Congress Ave', 'Austin', 'Texas', '7870',
   8200.00, true, 'Siding', NULL, NULL, NULL, 500.00, false, 2, '2024-01-13 09:00:00', '2024-01-13 10:00:00');
INSERT INTO credit_applications VALUES
  ('CA-1', 'CO-1', 'Acme Exteriors', 'SR-7', 'C-1001', 'GreenSky', 'GS-884422', 10000.00, 'approved', NULL, '2024-01-15 17:30:00', '2024-01-15 17:45:00'),
  ('CA-2', 'CO-1', 'Acme Exteriors', 'SR-9', 'C-1003', 'Service Finance', 'SF-1209', 8200.00, 'Under Review', 'needs co-signer', '2024-01-13 09:30:00', '2024-01-13 09:40:00');
INSERT INTO lead_results VALUES
  ('E-5001', 'CO-1', '[{"title":"Appointment Result ","value":"Sold"},{"title":"Both Homeowners Present?","value":"Yes"},{"title":"Deposit Type-","value":"Check"},{"title":"Deposit Amount","value":"$1,250.00"},{"title":"Job Type 1","value":"Roofing"},{"title":"Job Type 1 Amount","value":"$12,500.50"},{"title":"Job Type 2","value":"Gutters"},{"title":"Job Type 2 Amount","value":"$980"},{"title":"Financing","value":"No"},{"title":"Appointment Date","value":"01/15/2024"}]',
   '2024-01-15 18:00:00', '2024-01-15 18:50:00'),
  ('E-5002', 'CO-1', '[{"title":"Result","value":"No Sale"},{"title":"Reason for No Sale","value":"Price too high"},{"title":"Both Homeowners Present","value":"No"},{"title":"Lead Source","value":"Home Show"},{"title":"Appointment Date","value":"1/16/2024"}]',
   '2024-01-16 11:00:00', '2024-01-16 11:35:00'),
  ('E-5003', 'CO-1', '[{"title":"appointment result","value":"Sold"},{"title":"Job Type","value":"Siding"},{"title":"Job Size","value":"24 squares"},{"title":"Total Sale Amount","value":"8,200.00"},{"title":"Financing","value":"Yes"}]',
   '2024-01-13 09:50:00', '2024-01-13 10:05:00'),
  ('E-5004', 'CO-1', '[{"title":"Appointment Result","value":"Sold"},{"title":"Job Type 1","val', '2024-01-17 09:00:00', '2024-01-17 09:30:00'),
  ('E-5005', 'CO-1', '[{"title":"Appt Result","value":"Sold"},{"title":"Total Contract Amount","value":"$15,400.00"},{"title":"Appt Date","value":"01/18/2024"}]',
   '2024-01-12 08:00:00', '2024-01-12 08:30:00'),
  ('', 'CO-1', '[]', '2024-01-17 10:00:00', '2024-01-17 10:00:00');
