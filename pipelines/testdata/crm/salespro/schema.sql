-- SalesPro's reporting tables (crm-shapes.md), as a PostgreSQL copy holds them: text ids,
-- naive timestamps, lead_results as JSON text. No primary keys: the export has none.
CREATE TABLE customer (customer_id varchar(64), estimate_id varchar(64), company_id varchar(64), company_name text,
  customer_first_name text, customer_last_name text, crm_source text, crm_source_id text, updated_at timestamp);
CREATE TABLE estimate (estimate_id varchar(64), company_id varchar(64), company_name text, office_id varchar(64), office_name text,
  sales_rep_id varchar(64), sales_rep_first_name text, sales_rep_last_name text, customer_id varchar(64), customer_first_name text,
  customer_last_name text, street_address text, city text, state text, zip_code text, sale_amount numeric(12,2), is_sale boolean,
  job_type text, finance_amount numeric(12,2), bank_name text, loan_name text, down_payment numeric(12,2), has_credit_app boolean,
  document_count integer, created_at timestamp, updated_at timestamp);
CREATE TABLE credit_applications (leap_credit_app_id varchar(64), company_id varchar(64), company_name text, sales_rep_id varchar(64),
  customer_id varchar(64), credit_app_vendor text, credit_app_vendor_id text, credit_app_amount numeric(12,2), credit_app_status text,
  credit_app_note text, created_at timestamp, updated_at timestamp);
CREATE TABLE lead_results (estimate_id varchar(64), company_id varchar(64), lead_results text, created_at timestamp, updated_at timestamp);
