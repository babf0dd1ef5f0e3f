import type { SaxesTagNS } from 'saxes';
import type { ComplexType, Particle, Schema, SimpleType } from './model.ts';
import { checkSimple } from './simple.ts';

/**
 * A streaming XML Schema validator for one `Document` of an ISO 20022 message, fed the SAX events of the reader
 * (opening tag, text, closing tag) so a statement is validated as it is read, in memory bounded by the depth of the
 * document. It checks what `xmllint --schema` checks for these schemas: element names, order and counts of each
 * sequence or choice, text only where the type is simple, each value against its simple type, and attributes
 * (declared ones only, required ones present). The first violation throws through `fail`, naming the line and the
 * element path.
 */

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

export type Fail = (line: number, element: string, what: string) => Error;

interface Frame {
  name: string;
  path: string;
  line: number;
  complex: Extract<ComplexType, { kind: 'elements' }> | undefined;
  simple: SimpleType | undefined;
  /** Inside an `xs:any` (lax, nothing declared): nothing below is checked. */
  skip: boolean;
  /** The particle being filled and how many of it were seen. */
  index: number;
  count: number;
  text: string;
}

export interface Validator {
  open(tag: SaxesTagNS, line: number): void;
  text(chunk: string, line: number): void;
  close(line: number): void;
}

function expected(particles: Particle[], from: number): string {
  const names: string[] = [];
  for (let i = from; i < particles.length; i++) {
    const p = particles[i];
    if (p === undefined) break;
    names.push(p.name === undefined ? 'any element' : `<${p.name}>`);
    if (p.min > 0) break;
  }
  return names.length === 0 ? 'no more elements' : names.join(' or ');
}

/** One validation's state: the schema, how to fail, and the open elements. */
interface Ctx {
  schema: Schema;
  fail: Fail;
  stack: Frame[];
}

function typeFrame(c: Ctx, name: string, path: string, line: number, typeName: string): Frame {
  const complex = c.schema.complexTypes.get(typeName);
  const simpleName = complex?.kind === 'simple' ? complex.base : typeName;
  const simple = complex?.kind === 'elements' ? undefined : c.schema.simpleTypes.get(simpleName);
  if (complex === undefined && simple === undefined)
    throw c.fail(line, path, `the schema has no type ${typeName}`);
  return {
    name,
    path,
    line,
    complex: complex?.kind === 'elements' ? complex : undefined,
    simple,
    skip: false,
    index: 0,
    count: 0,
    text: '',
  };
}

function checkAttributes(c: Ctx, tag: SaxesTagNS, frame: Frame, typeName: string | undefined): void {
  const complex = typeName === undefined ? undefined : c.schema.complexTypes.get(typeName);
  const declared = complex?.kind === 'simple' ? complex.attributes : [];
  for (const a of Object.values(tag.attributes)) {
    if (a.prefix === 'xmlns' || a.name === 'xmlns' || a.uri === XSI) continue;
    const use = a.uri === '' ? declared.find((d) => d.name === a.local) : undefined;
    if (use === undefined) throw c.fail(frame.line, frame.path, `attribute ${a.name} is not allowed`);
    const type = c.schema.simpleTypes.get(use.type);
    const wrong = type === undefined ? `no type ${use.type}` : checkSimple(type, a.value);
    if (wrong !== undefined) throw c.fail(frame.line, `${frame.path}/@${a.name}`, wrong);
  }
  for (const use of declared) {
    if (use.required && tag.attributes[use.name] === undefined)
      throw c.fail(frame.line, frame.path, `the required attribute ${use.name} is missing`);
  }
}

/** Finds the particle of the parent's model that `name` fills, advancing past satisfied ones. */
function particleFor(c: Ctx, parent: Frame, name: string, line: number): Particle {
  const model = parent.complex;
  if (model === undefined)
    throw c.fail(line, `${parent.path}/${name}`, `<${parent.name}> holds text only, not elements`);
  const { particles } = model;
  if (model.compositor === 'choice') {
    const current = parent.count > 0 ? particles[parent.index] : undefined;
    if (
      current !== undefined &&
      (current.name === name || current.name === undefined) &&
      parent.count < current.max
    ) {
      parent.count++;
      return current;
    }
    const at = particles.findIndex((p) => p.name === name || p.name === undefined);
    const chosen = particles[at];
    if (current !== undefined || chosen === undefined)
      throw c.fail(
        line,
        `${parent.path}/${name}`,
        `unexpected element; expected ${current === undefined ? particles.map((p) => `<${p.name ?? 'any'}>`).join(' or ') : 'the end of the choice'}`,
      );
    parent.index = at;
    parent.count = 1;
    return chosen;
  }
  for (;;) {
    const p = particles[parent.index];
    if (p === undefined)
      throw c.fail(line, `${parent.path}/${name}`, 'unexpected element; expected no more elements');
    if ((p.name === name || p.name === undefined) && parent.count < p.max) {
      parent.count++;
      return p;
    }
    if (parent.count < p.min)
      throw c.fail(
        line,
        `${parent.path}/${name}`,
        `unexpected element; expected ${expected(particles, parent.index)}`,
      );
    parent.index++;
    parent.count = 0;
  }
}

function checkComplete(c: Ctx, frame: Frame, line: number): void {
  const model = frame.complex;
  if (model === undefined) return;
  const { particles } = model;
  if (model.compositor === 'choice') {
    if (frame.count === 0 && !particles.some((p) => p.min === 0))
      throw c.fail(
        line,
        frame.path,
        `missing one of ${particles.map((p) => `<${p.name ?? 'any'}>`).join(', ')}`,
      );
    const p = particles[frame.index];
    if (frame.count > 0 && p !== undefined && frame.count < p.min)
      throw c.fail(line, frame.path, `too few <${p.name ?? 'any'}>`);
    return;
  }
  for (let i = frame.index; i < particles.length; i++) {
    const p = particles[i];
    const seen = i === frame.index ? frame.count : 0;
    if (p !== undefined && seen < p.min)
      throw c.fail(line, frame.path, `the required element <${p.name ?? 'any'}> is missing`);
  }
}

function openElement(c: Ctx, tag: SaxesTagNS, line: number): void {
  const parent = c.stack[c.stack.length - 1];
  const name = tag.local;
  if (parent?.skip === true) {
    c.stack.push({ ...parent, name, line, text: '' });
    return;
  }
  const path = parent === undefined ? name : `${parent.path}/${name}`;
  if (tag.uri !== c.schema.namespace)
    throw c.fail(line, path, `the element is not in namespace ${c.schema.namespace}`);
  let typeName: string | undefined;
  if (parent === undefined) {
    typeName = c.schema.roots.get(name);
    if (typeName === undefined) throw c.fail(line, path, 'not a root element of the schema');
  } else {
    const particle = particleFor(c, parent, name, line);
    if (particle.name === undefined) {
      c.stack.push({
        name,
        path,
        line,
        complex: undefined,
        simple: undefined,
        skip: true,
        index: 0,
        count: 0,
        text: '',
      });
      return;
    }
    typeName = particle.type;
  }
  const frame = typeFrame(c, name, path, line, typeName);
  checkAttributes(c, tag, frame, typeName);
  c.stack.push(frame);
}

function addText(c: Ctx, chunk: string, line: number): void {
  const frame = c.stack[c.stack.length - 1];
  if (frame === undefined || frame.skip) return;
  if (frame.simple !== undefined) frame.text += chunk;
  else if (/[^\t\n\r ]/.test(chunk))
    throw c.fail(line, frame.path, `<${frame.name}> holds elements only, not text`);
}

function closeElement(c: Ctx, line: number): void {
  const frame = c.stack.pop();
  if (frame === undefined || frame.skip) return;
  if (frame.simple !== undefined) {
    const wrong = checkSimple(frame.simple, frame.text);
    if (wrong !== undefined) throw c.fail(frame.line, frame.path, wrong);
  } else checkComplete(c, frame, line);
}

export function createValidator(schema: Schema, fail: Fail): Validator {
  const c: Ctx = { schema, fail, stack: [] };
  return {
    open: (tag, line) => openElement(c, tag, line),
    text: (chunk, line) => addText(c, chunk, line),
    close: (line) => closeElement(c, line),
  };
}
