package filesrc

import (
	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

// SourceConfig holds the settings of a source of type: file (and the file
// part of type: github).
type SourceConfig struct {
	Path   string     `yaml:"path"`   // file or glob
	Format string     `yaml:"format"` // csv | jsonl | json
	CSV    *CSVFormat `yaml:"csv"`
}

// EntityConfig holds an entity's settings for file and github sources;
// they override the source's.
type EntityConfig struct {
	Path            string            `yaml:"path"`
	Format          string            `yaml:"format"`
	CSV             *CSVFormat        `yaml:"csv"`
	RequiredColumns config.StringList `yaml:"required_columns"`
}

// CSVFormat describes a delimited file.
type CSVFormat struct {
	Delimiter string            `yaml:"delimiter"`
	Quote     string            `yaml:"quote"`
	Comment   string            `yaml:"comment"`
	Header    *bool             `yaml:"header"`
	Columns   config.StringList `yaml:"columns"`
	SkipRows  int               `yaml:"skip_rows"`
	Encoding  string            `yaml:"encoding"`
}

// entityOf is the entity's own settings (none when spec has no entity,
// or a lookup's).
func entityOf(spec *source.Spec) *EntityConfig {
	if spec.Entity != nil {
		if e, ok := spec.Entity.Settings.(*EntityConfig); ok && e != nil {
			return e
		}
	}
	return &EntityConfig{}
}
