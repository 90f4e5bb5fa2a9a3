// Package audit tells which release a deployment actually runs. It reads
// deployment inputs (the configuration files pin update rewrites, Terraform
// state, `terraform show -json` output, AWS ECS describe output, kubectl JSON
// lists), extracts every image reference with where it was found, judges each
// one against a product's verified releases on a channel, and renders the
// result as an aligned table, JSON or Markdown.
//
// Extraction (Extract, ExtractPaths) knows nothing about releases; Evaluate
// takes the references and a Catalog the caller built and verified, and
// returns a Report. The package never prints, exits or touches the network.
//
// # JSON schema (schemaVersion 1)
//
// WriteJSON emits one object. Field names are stable; new fields may be added,
// none are renamed or removed without bumping schemaVersion. Every field is
// always present (strings may be empty, arrays may be empty, never null).
//
//	{
//	  "schemaVersion": 1,
//	  "product": "storage-service",      // product audited
//	  "channel": "stable",               // channel consulted
//	  "newest": "1.5.0",                 // newest allowed version, "" if none
//	  "summary": {
//	    "consistent": false,             // all pinned managed references share a release
//	    "mixed": true,                   // pinned managed references exist and share none
//	    "version": "",                   // the shared (highest) release when consistent
//	    "versions": ["1.4.0", "1.5.0"],  // highest release of each pinned managed reference
//	    "counts": {"current": 3, "outdated": 1, "yanked": 0, "unknown-digest": 0,
//	               "unpinned": 1, "moved-tag": 0, "unsigned-source": 0, "foreign": 0},
//	    "text": "mixed: ..."             // the human summary line
//	  },
//	  "findings": [{
//	    "source": "infra/terraform.tfstate", // file path, "-" for stdin
//	    "line": 12,                      // 1-based line, 0 when unknown
//	    "address": "module.stack.aws_ecs_task_definition.bags_api container app",
//	    "ref": "public.ecr.aws/y1p3h6z3/bags_api@sha256:...", // as written
//	    "component": "bags_api",         // "" for foreign references
//	    "repository": "public.ecr.aws/y1p3h6z3/bags_api",
//	    "tag": "", "digest": "sha256:...",
//	    "status": "outdated",            // current|outdated|yanked|unknown-digest|unpinned|moved-tag|unsigned-source|foreign
//	    "releases": ["1.4.0"],           // releases listing the digest, ascending
//	    "newest": "1.5.0",               // newest allowed version
//	    "behind": 1,                     // non-yanked releases newer than the highest in releases
//	    "reason": ""                     // yank reason, verification error, or a note
//	  }],
//	  "warnings": [{                     // values seen but not judged, files skipped
//	    "source": "main.tf", "line": 3, "component": "notifier",
//	    "value": "${var.registry}/notifier:${var.tag}",
//	    "message": "managed repository inside an interpolation", "hint": "..."
//	  }]
//	}
package audit
