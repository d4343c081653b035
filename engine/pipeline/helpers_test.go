package pipeline_test

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/diag"
)

type diagFinding = diag.Finding

func fmtAll(v any) string { return fmt.Sprint(v) + fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }
