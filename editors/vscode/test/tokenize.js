// Tokenize .wf text with VS Code's TextMate engine (vscode-textmate + vscode-oniguruma) and the
// extension's grammar: reads {"text": …} on stdin, writes [[line, start, end, text, [scopes…]], …].
"use strict";

const fs = require("fs");
const path = require("path");
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

async function main() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => {
      const file = path.join(__dirname, "..", "syntaxes", "wf.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.wf");
  const { text } = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = [];
  let stack = textmate.INITIAL;
  text.split("\n").forEach((line, i) => {
    const result = grammar.tokenizeLine(line, stack);
    for (const t of result.tokens) {
      out.push([i, t.startIndex, t.endIndex, line.slice(t.startIndex, t.endIndex), t.scopes]);
    }
    stack = result.ruleStack;
  });
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
