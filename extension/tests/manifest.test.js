// The folder loads unpacked as committed: the manifest names files that exist and the
// permissions the spec lists, the bridge is exposed to localhost only, every script parses.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const DIR = path.resolve(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, "manifest.json"), "utf8"));
const LOCAL = ["http://localhost/*", "http://127.0.0.1/*"];

test("manifest: MV3, the spec's permissions, all URLs", () => {
  assert.equal(manifest.manifest_version, 3);
  assert.deepEqual([...manifest.permissions].sort(), ["activeTab", "scripting", "storage", "tabs"]);
  assert.deepEqual(manifest.host_permissions, ["<all_urls>"]);
  assert.ok(manifest.background.service_worker);
});

test("the bridge is for localhost pages only", () => {
  const relay = manifest.content_scripts.find((c) => c.js.includes("relay.js"));
  assert.deepEqual(relay.matches, LOCAL);
  assert.deepEqual(manifest.web_accessible_resources, [{ resources: ["bridge.js"], matches: LOCAL }]);
  assert.deepEqual(manifest.externally_connectable, { ids: [], matches: LOCAL });
});

test("every file the manifest names exists and parses", () => {
  const files = [
    manifest.background.service_worker,
    ...manifest.content_scripts.flatMap((c) => c.js),
    ...manifest.web_accessible_resources.flatMap((w) => w.resources),
  ];
  for (const f of files) {
    assert.ok(fs.existsSync(path.join(DIR, f)), f);
    execFileSync(process.execPath, ["--check", path.join(DIR, f)]);
  }
});
