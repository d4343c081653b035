-- The Genius tables pipelines/genius.yaml reads, with the column types of Genius's MySQL
-- database (crm-shapes.md). Naive DATETIME columns; updated_at is NULL on rows never edited.
CREATE TABLE division_region (id int(11) NOT NULL PRIMARY KEY, name varchar(64), is_active tinyint(1) NOT NULL DEFAULT 1);
CREATE TABLE division_group (id int(11) NOT NULL PRIMARY KEY, group_label varchar(64), region varchar(64),
  default_time_zone_name varchar(64), intern_payroll_start date, painter_payroll_start date, is_active tinyint(1) NOT NULL DEFAULT 1,
  cc_profile_id varchar(32), mes_profile_id varchar(32), mes_profile_key varchar(64), docusign_acct_id varchar(64),
  paysimple_username varchar(64), paysimple_secret varchar(64), hub_account_id varchar(32), created_at datetime, updated_at datetime);
CREATE TABLE division (id int(11) NOT NULL PRIMARY KEY, group_id int(11), region_id int(11), label varchar(64), abbreviation varchar(8),
  is_utility tinyint(1) NOT NULL DEFAULT 0, is_corp tinyint(1) NOT NULL DEFAULT 0, is_omniscient tinyint(1) NOT NULL DEFAULT 0,
  is_inactive tinyint(1) NOT NULL DEFAULT 0, account_scheduler_id int(11), created_at datetime NOT NULL, updated_at datetime,
  KEY division_updated (updated_at, id));
CREATE TABLE users_userassociations (id int(11) NOT NULL PRIMARY KEY, primary_user_id int(11), created_at datetime, updated_at datetime, KEY (updated_at));
CREATE TABLE user_data (user_id int(11) NOT NULL PRIMARY KEY, division_id int(11), title_id int(11), manager_user_id int(11),
  first_name varchar(64), first_name_alt varchar(64), last_name varchar(64), email varchar(128), personal_email varchar(128),
  birth_date date, gender_id int(11), marital_status_id int(11), time_zone_name varchar(64), hired_on date, start_date date,
  add_user_id int(11), add_datetime datetime NOT NULL, updated_at datetime, is_inactive tinyint(1) NOT NULL DEFAULT 0,
  inactive_on date, inactive_reason_id int(11), inactive_reason_other varchar(255), user_associations_id int(11),
  inactive_transfer_division_id int(11));
CREATE TABLE user_title (id int(11) NOT NULL PRIMARY KEY, title varchar(64), abbreviation varchar(16), roles varchar(255), type_id int(11),
  section_id int(11), sort int(11), pay_component_group_id int(11), is_active tinyint(1) NOT NULL DEFAULT 1,
  is_unique_per_division tinyint(1) NOT NULL DEFAULT 0, created_at datetime, updated_at datetime);
CREATE TABLE third_party_source_type (id int(11) NOT NULL PRIMARY KEY, label varchar(32));
CREATE TABLE third_party_source (id int(11) NOT NULL PRIMARY KEY, third_party_source_type_id int(11), third_party_id varchar(64),
  created_at datetime, updated_at datetime, KEY (updated_at));
CREATE TABLE prospect (id int(11) NOT NULL PRIMARY KEY, division_id int(11), user_id int(11), first_name varchar(64), last_name varchar(64),
  alt_first_name varchar(64), alt_last_name varchar(64), address1 varchar(128), address2 varchar(128), city varchar(64), county varchar(64),
  state varchar(32), zip varchar(10), year_built smallint(6), phone1 varchar(32), phone2 varchar(32), email varchar(128), notes text,
  add_user_id int(11), add_date datetime NOT NULL, marketsharp_id varchar(64), leap_customer_id varchar(64), third_party_source_id int(11),
  updated_at datetime);
CREATE TABLE prospect_source (id int(11) NOT NULL PRIMARY KEY, prospect_id int(11), marketing_source_id int(11), source_date date, notes text,
  add_user_id int(11), add_date datetime NOT NULL, updated_at datetime, source_user_id int(11));
CREATE TABLE appointment (id int(11) NOT NULL PRIMARY KEY, prospect_id int(11), prospect_source_id int(11), user_id int(11), type_id int(11),
  date date, time time, duration time, address1 varchar(128), address2 varchar(128), city varchar(64), state varchar(32), zip varchar(10),
  email varchar(128), notes text, add_user_id int(11), add_date datetime NOT NULL, assign_date datetime, confirm_user_id int(11),
  confirm_date datetime, confirm_with varchar(64), spouses_present tinyint(1), is_complete tinyint(1) NOT NULL DEFAULT 0,
  complete_outcome_id int(11), complete_user_id int(11), complete_date datetime, updated_at datetime, marketsharp_id varchar(64),
  marketsharp_appt_type varchar(64), leap_estimate_id varchar(64), third_party_source_id int(11));
CREATE TABLE appointment_type (id int(11) NOT NULL PRIMARY KEY, label varchar(64), is_active tinyint(1) NOT NULL DEFAULT 1);
CREATE TABLE appointment_outcome_type (id int(11) NOT NULL PRIMARY KEY, label varchar(64), is_active tinyint(1) NOT NULL DEFAULT 1);
CREATE TABLE appointment_to_service (appointment_id int(11) NOT NULL, service_id int(11) NOT NULL, created_at datetime NOT NULL,
  updated_at datetime, PRIMARY KEY (appointment_id, service_id));
CREATE TABLE service (id int(11) NOT NULL PRIMARY KEY, label varchar(64), is_active tinyint(1) NOT NULL DEFAULT 1,
  is_lead_required tinyint(1) NOT NULL DEFAULT 0, order_number int(11), created_at datetime NOT NULL, updated_at datetime);
CREATE TABLE quote (id int(11) NOT NULL PRIMARY KEY, prospect_id int(11), appointment_id int(11), job_id int(11), client_cid int(11),
  service_id int(11), label varchar(128), description text, amount decimal(12,2), expire_date date, status_id int(11),
  contract_file_id int(11), estimate_file_id int(11), add_user_id int(11), add_date datetime NOT NULL, updated_at datetime);
CREATE TABLE `lead` (lead_id int(11) NOT NULL PRIMARY KEY, first_name varchar(64), last_name varchar(64), email varchar(128),
  phone1 varchar(32), address1 varchar(128), city varchar(64), state varchar(32), zip varchar(10), source int(11), added_by int(11),
  division int(11), notes text, status varchar(32), copied_to_id int(11), added_on datetime NOT NULL, updated_at datetime,
  lead_marketing_note varchar(255));
CREATE TABLE marketing_source_type (id int(11) NOT NULL PRIMARY KEY, label varchar(64), description varchar(255),
  is_active tinyint(1) NOT NULL DEFAULT 1, list_order int(11), created_at datetime NOT NULL, updated_at datetime);
CREATE TABLE marketing_source (id int(11) NOT NULL PRIMARY KEY, type_id int(11), label varchar(64), description varchar(255),
  start_date date, end_date date, add_user_id int(11), add_date datetime NOT NULL, is_active tinyint(1) NOT NULL DEFAULT 1,
  is_allow_lead_modification tinyint(1) NOT NULL DEFAULT 0, updated_at datetime);
CREATE TABLE job (id int(11) NOT NULL PRIMARY KEY, client_cid int(11), prospect_id int(11), division_id int(11), user_id int(11),
  production_user_id int(11), contract_date date, contract_amount decimal(12,2), job_value decimal(12,2), sold_user_id int(11),
  sold_date datetime, start_date date, end_date date, cancel_date date, install_date date, status_id int(11), permit_number varchar(32),
  add_date datetime NOT NULL, updated_at datetime);
CREATE TABLE job_status (id int(11) NOT NULL PRIMARY KEY, label varchar(64), is_system tinyint(1) NOT NULL DEFAULT 0);
CREATE TABLE job_financing (job_id int(11) NOT NULL PRIMARY KEY, term_id int(11), financed_amount decimal(12,2));
CREATE TABLE job_change_order (id int(11) NOT NULL PRIMARY KEY, job_id int(11), number int(11), status_id int(11), type_id int(11),
  adjustment_change_order_id int(11), effective_date date, total_amount decimal(12,2), add_user_id int(11), add_date datetime NOT NULL,
  sold_user_id int(11), sold_date datetime, cancel_user_id int(11), cancel_date datetime, reason_id int(11), envelope_id varchar(64),
  total_contract_amount decimal(12,2), total_pre_change_orders_amount decimal(12,2), signer_name varchar(128), signer_email varchar(128),
  financing_note text, updated_at datetime);
CREATE TABLE job_change_order_item (id int(11) NOT NULL PRIMARY KEY, change_order_id int(11), description varchar(255), amount decimal(12,2),
  created_at datetime NOT NULL, updated_at datetime);
CREATE TABLE job_change_order_status (id int(11) NOT NULL PRIMARY KEY, label varchar(64));
CREATE TABLE job_change_order_type (id int(11) NOT NULL PRIMARY KEY, label varchar(64));
CREATE TABLE job_change_order_reason (id int(11) NOT NULL PRIMARY KEY, label varchar(64), description varchar(255), is_selectable tinyint(1) NOT NULL DEFAULT 1);
CREATE TABLE appointment_outcome (id int(11) NOT NULL PRIMARY KEY, appointment_id int(11), outcome_type_id int(11), user_id int(11),
  notes text, created_at datetime, updated_at datetime, KEY (updated_at));
CREATE TABLE integration_field_definition (id int(11) NOT NULL PRIMARY KEY, integration_id int(11), label varchar(120), key_name varchar(120),
  is_user tinyint(1) NOT NULL DEFAULT 0, is_division tinyint(1) NOT NULL DEFAULT 0, hint varchar(255), input_type varchar(32));
CREATE TABLE integration_field (id int(11) NOT NULL PRIMARY KEY, definition_id int(11), user_id int(11), division_id int(11),
  field_value text, created_at datetime, updated_at datetime, KEY (updated_at));
CREATE TABLE marketsharp_source (id int(11) NOT NULL PRIMARY KEY, marketsharp_id varchar(64), source_name varchar(120),
  inactive tinyint(1) NOT NULL DEFAULT 0, created_at datetime, updated_at datetime);
CREATE TABLE marketsharp_marketing_source_map (marketsharp_id varchar(64) NOT NULL PRIMARY KEY, marketing_source_id int(11),
  created_at datetime, updated_at datetime);
