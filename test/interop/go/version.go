package main

import "runtime/debug"

// clientVersion is the version of go.etcd.io/etcd/client/v3 this program was built with.
func clientVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "go.etcd.io/etcd/client/v3" {
			return dep.Version
		}
	}
	return "unknown"
}
