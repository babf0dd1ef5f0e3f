import { SaxesParser, type SaxesTagNS } from 'saxes';
import type { AttributeUse, BuiltIn, ComplexType, Facets, Particle, Schema, SimpleType } from './model.ts';

/** Reads an ISO 20022 message XSD (see model.ts) into a Schema; anything outside the subset it knows throws. */

const XS = 'http://www.w3.org/2001/XMLSchema';
const BUILT_INS: ReadonlySet<string> = new Set([
  'string',
  'decimal',
  'boolean',
  'date',
  'dateTime',
  'time',
  'gYear',
  'gYearMonth',
]);

interface CompileState {
  schema: Schema;
  complex: { name: string; compositor?: 'sequence' | 'choice'; particles: Particle[] } | undefined;
  simpleContent: { base: string; attributes: AttributeUse[] } | undefined;
  simple: { name: string; base: BuiltIn | undefined; facets: Facets } | undefined;
}

function attr(tag: SaxesTagNS, name: string): string | undefined {
  return tag.attributes[name]?.value;
}

function localType(qname: string): string {
  const colon = qname.indexOf(':');
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}

function occurs(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return text === 'unbounded' ? Infinity : Number(text);
}

/** An XSD regular expression as an anchored JavaScript one (the ISO schemas use the common subset). */
export function xsdPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

function addFacet(facets: Facets, facet: string, value: string): void {
  if (facet === 'enumeration') (facets.enumeration ??= new Set()).add(value);
  else if (facet === 'pattern') facets.patterns.push(xsdPattern(value));
  else if (facet === 'minLength') facets.minLength = Number(value);
  else if (facet === 'maxLength') facets.maxLength = Number(value);
  else if (facet === 'totalDigits') facets.totalDigits = Number(value);
  else if (facet === 'fractionDigits') facets.fractionDigits = Number(value);
  else if (facet === 'minInclusive') facets.minInclusive = value;
  else if (facet === 'maxInclusive') facets.maxInclusive = value;
  else throw new Error(`xsd: facet ${facet} is not supported`);
}

function openParticle(s: CompileState, tag: SaxesTagNS): void {
  if (s.complex === undefined) return;
  if (tag.local === 'any') {
    s.complex.particles.push({ name: undefined, type: '', min: 1, max: 1 });
    return;
  }
  const name = attr(tag, 'name');
  const type = attr(tag, 'type');
  if (name === undefined || type === undefined) throw new Error('xsd: an element needs a name and a type');
  s.complex.particles.push({
    name,
    type: localType(type),
    min: occurs(attr(tag, 'minOccurs'), 1),
    max: occurs(attr(tag, 'maxOccurs'), 1),
  });
}

function openInComplex(s: CompileState, tag: SaxesTagNS): void {
  const name = tag.local;
  if ((name === 'sequence' || name === 'choice') && s.complex !== undefined) {
    // v02 schemas wrap each choice in a sequence of one: `sequence(choice(…))` is that choice.
    const wrapsChoice =
      s.complex.compositor === 'sequence' && name === 'choice' && s.complex.particles.length === 0;
    if (s.complex.compositor !== undefined && !wrapsChoice)
      throw new Error('xsd: nested model groups are not supported');
    s.complex.compositor = name;
  } else if (name === 'element' || name === 'any') openParticle(s, tag);
  else if (name === 'extension') {
    s.simpleContent = { base: localType(attr(tag, 'base') ?? ''), attributes: [] };
  } else if (name === 'attribute' && s.simpleContent !== undefined) {
    s.simpleContent.attributes.push({
      name: attr(tag, 'name') ?? '',
      type: localType(attr(tag, 'type') ?? ''),
      required: attr(tag, 'use') === 'required',
    });
  }
}

function openTag(s: CompileState, tag: SaxesTagNS): void {
  if (tag.uri !== XS) return;
  const name = tag.local;
  if (name === 'schema') s.schema.namespace = attr(tag, 'targetNamespace') ?? '';
  else if (name === 'complexType') s.complex = { name: attr(tag, 'name') ?? '', particles: [] };
  else if (name === 'simpleType')
    s.simple = { name: attr(tag, 'name') ?? '', base: undefined, facets: { patterns: [] } };
  else if (s.complex !== undefined) openInComplex(s, tag);
  else if (name === 'element')
    s.schema.roots.set(attr(tag, 'name') ?? '', localType(attr(tag, 'type') ?? ''));
  else if (name === 'restriction' && s.simple !== undefined) {
    const base = localType(attr(tag, 'base') ?? '');
    if (!BUILT_INS.has(base)) throw new Error(`xsd: simple type ${s.simple.name} restricts ${base}`);
    s.simple.base = base as BuiltIn;
  } else if (s.simple !== undefined) addFacet(s.simple.facets, name, attr(tag, 'value') ?? '');
}

function closeTag(s: CompileState, tag: SaxesTagNS): void {
  if (tag.uri !== XS) return;
  if (tag.local === 'complexType' && s.complex !== undefined) {
    const c = s.complex;
    const built: ComplexType =
      s.simpleContent !== undefined
        ? { name: c.name, kind: 'simple', ...s.simpleContent }
        : { name: c.name, kind: 'elements', compositor: c.compositor ?? 'sequence', particles: c.particles };
    s.schema.complexTypes.set(c.name, built);
    s.complex = undefined;
    s.simpleContent = undefined;
  } else if (tag.local === 'simpleType' && s.simple !== undefined) {
    const t = s.simple;
    const built: SimpleType = { name: t.name, base: t.base ?? 'string', facets: t.facets };
    s.schema.simpleTypes.set(t.name, built);
    s.simple = undefined;
  }
}

export function compileSchema(xsd: string): Schema {
  const s: CompileState = {
    schema: { namespace: '', roots: new Map(), complexTypes: new Map(), simpleTypes: new Map() },
    complex: undefined,
    simpleContent: undefined,
    simple: undefined,
  };
  const parser = new SaxesParser({ xmlns: true });
  parser.on('opentag', (tag: SaxesTagNS) => openTag(s, tag));
  parser.on('closetag', (tag: SaxesTagNS) => closeTag(s, tag));
  parser.write(xsd).close();
  return s.schema;
}
