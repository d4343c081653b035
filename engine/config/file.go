package config

// FileSource holds the settings of type: file (and the file part of type: github).
type FileSource struct {
	Path   string     `yaml:"path"`   // file or glob
	Format string     `yaml:"format"` // csv | jsonl | json
	CSV    *CSVFormat `yaml:"csv"`
}

// GitHubSource holds the settings of type: github (its API base URL is base_url).
type GitHubSource struct {
	Repo  string `yaml:"repo"`
	Ref   string `yaml:"ref"`
	Token Secret `yaml:"token"`
}

// FileEntity holds an entity's settings for file and github sources; they
// override the source's.
type FileEntity struct {
	Path            string     `yaml:"path"`
	Format          string     `yaml:"format"`
	CSV             *CSVFormat `yaml:"csv"`
	RequiredColumns StringList `yaml:"required_columns"`
}

// CSVFormat describes a delimited file.
type CSVFormat struct {
	Delimiter string     `yaml:"delimiter"`
	Quote     string     `yaml:"quote"`
	Comment   string     `yaml:"comment"`
	Header    *bool      `yaml:"header"`
	Columns   StringList `yaml:"columns"`
	SkipRows  int        `yaml:"skip_rows"`
	Encoding  string     `yaml:"encoding"`
}
