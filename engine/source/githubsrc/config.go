package githubsrc

import (
	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source/filesrc"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
)

// SourceConfig holds the settings of a source of type: github: a file
// source read through GitHub's API, with the http settings that make
// sense for it.
type SourceConfig struct {
	Repo                 string        `yaml:"repo"`
	Ref                  string        `yaml:"ref"`
	Token                config.Secret `yaml:"token"`
	filesrc.SourceConfig `yaml:",inline"`
	// BaseURL is the API's URL (GitHub Enterprise: https://host/api/v3).
	BaseURL   string             `yaml:"base_url"`
	Retry     *httpsrc.Retry     `yaml:"retry"`
	Timeout   config.Duration    `yaml:"timeout"`
	RateLimit *httpsrc.RateLimit `yaml:"rate_limit"`
}
