package sqlsrc

import "github.com/crmsync/crmsync/engine/config"

// SourceConfig holds the settings of a source of type: sql (besides type).
type SourceConfig struct {
	Driver   string        `yaml:"driver"` // postgres | mysql
	DSN      config.Secret `yaml:"dsn"`
	Timezone string        `yaml:"timezone"` // how naive database times are read
}

// EntityConfig holds an entity's own settings for type: sql: either a
// table (with optional columns and where) or a query.
type EntityConfig struct {
	From    string            `yaml:"from"` // table to read
	Columns config.StringList `yaml:"columns"`
	Where   string            `yaml:"where"`
	Query   string            `yaml:"query"`
	// KeyColumns are the columns the keyset pages on, in order; default
	// primary_key (whose names must then be column names).
	KeyColumns config.StringList `yaml:"key_columns"`
	// Count runs a COUNT(*) before reading, for progress (Page.Total).
	Count bool `yaml:"count"`
}
