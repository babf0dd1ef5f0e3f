// Lists the longest functions under the given folders or files, longest first, in lines from the line of the
// function's start to the line of its end (blank lines and comments inside included; ESLint's
// max-lines-per-function, as configured in eslint.config.js, skips those, so it reports a little less).
// `npx tsx scripts/function-lengths.ts [--top N] [--over N] src/reconciliation src/ledger src/money`
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

interface Found {
  file: string;
  name: string;
  line: number;
  lines: number;
}

function filesUnder(target: string): string[] {
  if (fs.statSync(target).isFile()) return target.endsWith('.ts') ? [target] : [];
  return fs
    .readdirSync(target, { withFileTypes: true })
    .flatMap((entry) => filesUnder(path.join(target, entry.name)))
    .sort();
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined) {
    return node.name.getText(source);
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  return '(anonymous)';
}

function functionsOf(file: string): Found[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Found[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ file, name: nameOf(node, source), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const args = process.argv.slice(2);
const option = (flag: string): number | undefined => {
  const at = args.indexOf(flag);
  if (at < 0) return undefined;
  const value = Number(args[at + 1]);
  args.splice(at, 2);
  return value;
};
const top = option('--top') ?? 10;
const over = option('--over') ?? 0;
const all = (args.length > 0 ? args : ['src'])
  .flatMap(filesUnder)
  .flatMap(functionsOf)
  .filter((f) => f.lines > over)
  .sort((a, b) => b.lines - a.lines);
for (const f of all.slice(0, top))
  process.stdout.write(`${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}\n`);
