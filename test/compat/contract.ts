import {
  buildASTSchema, getNamedType, isEnumType, isInputObjectType, isInterfaceType, isListType, isNonNullType, isObjectType,
  isSpecifiedScalarType, Kind, parse, validate, type DocumentNode, type GraphQLInputType, type GraphQLOutputType, type GraphQLSchema,
} from "graphql";

/*
 * The Backend.AI compatibility check: every type, field, argument and enum value of the
 * contract (backend-ai-contract.graphql, the Backend.AI v2 artifact API names plus this
 * project's extensions) must exist in the subgraph's schema with a compatible type, and every
 * operation the web UI sends (webui-operations.graphql) must validate. The subgraph may have more.
 */

// Federation directives are declared so that both documents build without a gateway.
const FEDERATION_PRELUDE = `
  scalar link__Import
  scalar FieldSet
  scalar federation__FieldSet
  directive @link(url: String!, as: String, for: String, import: [link__Import]) repeatable on SCHEMA
`;
const FEDERATION_DIRECTIVES = ["key", "shareable", "external", "requires", "provides", "override", "inaccessible", "tag",
  "interfaceObject", "composeDirective", "authenticated", "requiresScopes", "policy", "cost", "listSize", "extends"];
const PRELUDE_TYPES = new Set(["link__Import", "FieldSet", "federation__FieldSet"]);

interface Built { schema: GraphQLSchema; doc: DocumentNode }

function build(sdl: string): Built {
  const doc = parse(sdl);
  const declaredDirectives = new Set(doc.definitions.flatMap((d) => (d.kind === Kind.DIRECTIVE_DEFINITION ? [d.name.value] : [])));
  const declaredTypes = new Set(doc.definitions.flatMap((d) => ("name" in d && d.name && d.kind.endsWith("Definition") ? [d.name.value] : [])));
  const extra: string[] = [];
  if (!declaredTypes.has("link__Import")) extra.push(FEDERATION_PRELUDE);
  for (const name of FEDERATION_DIRECTIVES) {
    if (declaredDirectives.has(name)) continue;
    extra.push(`directive @${name}(fields: String, from: String, name: String, label: String) repeatable on OBJECT | INTERFACE | FIELD_DEFINITION | SCHEMA | SCALAR | ENUM | UNION | INPUT_OBJECT | ARGUMENT_DEFINITION | ENUM_VALUE | INPUT_FIELD_DEFINITION`);
  }
  return { schema: buildASTSchema(parse(`${sdl}\n${extra.join("\n")}`), { assumeValidSDL: true }), doc };
}

// Output positions may be stricter (non-null where the contract allows null); inputs may not.
function outputCompatible(contract: GraphQLOutputType, project: GraphQLOutputType): boolean {
  if (isNonNullType(contract) && !isNonNullType(project)) return false;
  const c = isNonNullType(contract) ? contract.ofType : contract;
  const p = isNonNullType(project) ? project.ofType : project;
  if (isListType(c) !== isListType(p)) return false;
  if (isListType(c) && isListType(p)) return outputCompatible(c.ofType, p.ofType);
  return getNamedType(c).name === getNamedType(p).name;
}
function inputCompatible(contract: GraphQLInputType, project: GraphQLInputType): boolean {
  if (isNonNullType(project) && !isNonNullType(contract)) return false;
  const c = isNonNullType(contract) ? contract.ofType : contract;
  const p = isNonNullType(project) ? project.ofType : project;
  if (isListType(c) !== isListType(p)) return false;
  if (isListType(c) && isListType(p)) return inputCompatible(c.ofType, p.ofType);
  return getNamedType(c).name === getNamedType(p).name;
}

function keyFields(doc: DocumentNode, typeName: string): string[] {
  const keys: string[] = [];
  for (const d of doc.definitions) {
    if (!("name" in d) || d.name?.value !== typeName || !("directives" in d)) continue;
    for (const directive of d.directives ?? []) {
      if (directive.name.value !== "key") continue;
      const fields = directive.arguments?.find((a) => a.name.value === "fields");
      if (fields?.value.kind === Kind.STRING) keys.push(fields.value.value.trim());
    }
  }
  return keys;
}

/** Every way `projectSdl` falls short of `contractSdl`; empty when it satisfies it. */
export function contractProblems(contractSdl: string, projectSdl: string): string[] {
  const contract = build(contractSdl);
  const project = build(projectSdl);
  const problems: string[] = [];
  for (const [name, ct] of Object.entries(contract.schema.getTypeMap())) {
    if (name.startsWith("__") || PRELUDE_TYPES.has(name) || isSpecifiedScalarType(ct)) continue;
    const pt = project.schema.getType(name);
    if (!pt) {
      problems.push(`missing type ${name}`);
      continue;
    }
    if (pt.constructor !== ct.constructor) {
      problems.push(`${name} is a ${pt.constructor.name}, the contract has a ${ct.constructor.name}`);
      continue;
    }
    if (isEnumType(ct) && isEnumType(pt)) {
      const values = new Set(pt.getValues().map((v) => v.name));
      for (const v of ct.getValues()) if (!values.has(v.name)) problems.push(`enum ${name} lacks value ${v.name}`);
    }
    if ((isObjectType(ct) || isInterfaceType(ct)) && (isObjectType(pt) || isInterfaceType(pt))) {
      for (const iface of ct.getInterfaces()) {
        if (!pt.getInterfaces().some((i) => i.name === iface.name)) problems.push(`${name} does not implement ${iface.name}`);
      }
      for (const key of keyFields(contract.doc, name)) {
        if (!keyFields(project.doc, name).includes(key)) problems.push(`${name} lacks @key(fields: "${key}")`);
      }
      const fields = pt.getFields();
      for (const [fieldName, cf] of Object.entries(ct.getFields())) {
        const f = fields[fieldName];
        if (!f) {
          problems.push(`missing field ${name}.${fieldName}`);
          continue;
        }
        if (!outputCompatible(cf.type, f.type)) problems.push(`${name}.${fieldName} is ${String(f.type)}, the contract has ${String(cf.type)}`);
        for (const ca of cf.args) {
          const pa = f.args.find((a) => a.name === ca.name);
          if (!pa) problems.push(`missing argument ${name}.${fieldName}(${ca.name})`);
          else if (!inputCompatible(ca.type, pa.type)) problems.push(`argument ${name}.${fieldName}(${ca.name}) is ${String(pa.type)}, the contract has ${String(ca.type)}`);
        }
        for (const pa of f.args) {
          if (!cf.args.some((a) => a.name === pa.name) && isNonNullType(pa.type) && pa.defaultValue === undefined) {
            problems.push(`${name}.${fieldName} adds a required argument ${pa.name}`);
          }
        }
      }
    }
    if (isInputObjectType(ct) && isInputObjectType(pt)) {
      const fields = pt.getFields();
      for (const [fieldName, cf] of Object.entries(ct.getFields())) {
        const f = fields[fieldName];
        if (!f) problems.push(`missing input field ${name}.${fieldName}`);
        else if (!inputCompatible(cf.type, f.type)) problems.push(`input field ${name}.${fieldName} is ${String(f.type)}, the contract has ${String(cf.type)}`);
      }
      for (const [fieldName, f] of Object.entries(fields)) {
        if (!ct.getFields()[fieldName] && isNonNullType(f.type) && f.defaultValue === undefined) problems.push(`input ${name} adds a required field ${fieldName}`);
      }
    }
  }
  return problems;
}

/** The validation errors of `operations` against the project's schema. */
export function operationProblems(projectSdl: string, operations: string): string[] {
  return validate(build(projectSdl).schema, parse(operations)).map((e) => `web UI operations: ${e.message}`);
}
