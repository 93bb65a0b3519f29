package main

import (
	_ "github.com/expr-lang/expr"
	_ "github.com/goccy/go-yaml"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/rs/zerolog"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/time/rate"
	_ "github.com/getkin/kin-openapi/openapi3filter"
)

func main() {}
