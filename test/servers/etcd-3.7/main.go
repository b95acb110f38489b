// A real etcd server of one release line, built from etcd's own Go module (see go.mod), so the
// integration suites run against it. It takes etcd's usual flags.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
