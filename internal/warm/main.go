package main
import (
 _ "gopkg.in/yaml.v3"
 _ "github.com/expr-lang/expr"
 _ "github.com/santhosh-tekuri/jsonschema/v6"
 _ "github.com/tidwall/gjson"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/fsnotify/fsnotify"
 _ "modernc.org/sqlite"
 _ "github.com/nyaruka/phonenumbers"
 _ "github.com/shopspring/decimal"
 _ "golang.org/x/time/rate"
 _ "golang.org/x/oauth2/clientcredentials"
 _ "github.com/prometheus/client_golang/prometheus/promhttp"
 _ "github.com/go-sql-driver/mysql"
 _ "golang.org/x/text/encoding/charmap"
)
func main(){}
