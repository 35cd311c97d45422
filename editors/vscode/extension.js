// The VS Code side of wfkit: it starts `wf lsp` (the language server, LSP over stdio) for .wf files.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const config = vscode.workspace.getConfiguration("wfkit");
  const server = {
    command: config.get("server.command", "wf"),
    args: config.get("server.args", ["lsp"]),
  };
  client = new LanguageClient("wfkit", "wfkit (wf lsp)", server, {
    documentSelector: [
      { scheme: "file", language: "wf" },
      { scheme: "untitled", language: "wf" },
    ],
    // files of the app that are created, changed or deleted outside the editor
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.wf") },
  });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
