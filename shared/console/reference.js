// The API reference: Redoc (vendored, served beside this page) renders
// openapi.yaml, also served beside it. Nothing is loaded from another origin.
"use strict";

Redoc.init(
  "openapi.yaml",
  { expandResponses: "200,201,202", hideHostname: false, pathInMiddlePanel: true },
  document.getElementById("reference"),
);
