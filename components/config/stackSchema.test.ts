import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import * as fs from "fs";
import { parse as parseYaml } from "yaml";
import { stackFileSchema, stackFileSchemaText } from "./stackSchema";

const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(stackFileSchema());

function check(text: string): string[] {
  return validate(parseYaml(text)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const minimal = (extra = "") => `config:
  mpi-hosts:mpi:
    network: 10.0.0.0/24
  mpi-hosts:hosts:
    - name: n1
      address: 10.0.0.5
      os: linux
      slots: 2
${extra}`;

describe("the stack file schema for editors", () => {
  it("is the file npm run docs writes (run it after changing the cluster schema)", () => {
    expect(fs.readFileSync("schemas/stack.schema.json", "utf8")).toBe(stackFileSchemaText());
  });

  it("accepts the example stack file and one with other namespaces, secrets and pulumi's own keys", () => {
    expect(check(fs.readFileSync("Pulumi.example.yaml", "utf8"))).toEqual([]);
    expect(check(fs.readFileSync("test/fixtures/Pulumi.linux-system.yaml", "utf8"))).toEqual([]);
    expect(
      check(`encryptionsalt: v1:abc\n${minimal("  aws:region: eu-west-1\n  mpi-hosts:sshPrivateKey:\n    secure: v1:xyz\n")}`),
    ).toEqual([]);
  });

  it("rejects a mistyped key of ours, a missing required key and a value of the wrong shape", () => {
    expect(check(minimal("  mpi-hosts:hsots: []\n")).join("\n")).toMatch(/property name must be valid|must match/);
    expect(check("config:\n  mpi-hosts:mpi:\n    network: 10.0.0.0/24\n").join("\n")).toMatch(
      /must have required property 'mpi-hosts:hosts'/,
    );
    expect(check(minimal().replace("slots: 2", "slots: two")).length).toBeGreaterThan(0);
  });
});
