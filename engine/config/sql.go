package config

// SQLSource holds the settings of type: sql.
type SQLSource struct {
	Driver   string `yaml:"driver"` // postgres | mysql
	DSN      Secret `yaml:"dsn"`
	Timezone string `yaml:"timezone"` // how naive database times are read
}

// SQLEntity holds an entity's settings for type: sql: either a table
// (with optional columns and where) or a query.
type SQLEntity struct {
	From    string     `yaml:"from"` // table to read
	Columns StringList `yaml:"columns"`
	Where   string     `yaml:"where"`
	Query   string     `yaml:"query"`
	// KeyColumns are the columns the keyset pages on, in order; default
	// primary_key (whose names must then be column names).
	KeyColumns StringList `yaml:"key_columns"`
	// Count runs a COUNT(*) before reading, for progress (Page.Total).
	Count bool `yaml:"count"`
}
