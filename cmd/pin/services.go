package main

// demoApps are the storage service's 18 applications; demoSidecars its 2
// sidecars. The demo seeds its registry with them.
var (
	demoApps = []string{"bags_api", "ingests_api", "ingests_indexer", "ingests_tracker", "ingests_worker", "notifier",
		"bag_versioner", "bag_register", "bag_tagger", "bag_replicator", "bag_root_finder", "bag_tracker", "bag_verifier",
		"bag_unpacker", "bag_indexer", "file_finder", "file_indexer", "replica_aggregator"}
	demoSidecars = []string{"fluentbit", "nginx_apigw"}
)
