package main

// The source types and destinations built into the binary register
// themselves, as database/sql drivers do.
import (
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
	_ "github.com/crmsync/crmsync/engine/source/filesrc"
	_ "github.com/crmsync/crmsync/engine/source/githubsrc"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)
