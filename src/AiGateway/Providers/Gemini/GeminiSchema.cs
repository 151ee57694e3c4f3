using System.Text.Json;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Providers.Gemini;

/// <summary>
/// Converts a JSON schema (OpenAI tool parameters, <c>json_schema</c> response formats) to Gemini's Schema, a subset of
/// OpenAPI 3.0: types become upper-case, <c>["T","null"]</c> becomes <c>nullable</c>, a string <c>const</c> becomes a
/// one-value <c>enum</c>. <c>additionalProperties: false</c> and <c>$schema</c>/<c>$id</c>/<c>$comment</c> are dropped
/// (Gemini returns only declared properties anyway). Anything else Gemini cannot express — <c>$ref</c>, <c>oneOf</c>,
/// <c>allOf</c>, <c>not</c>, non-string enums, open <c>additionalProperties</c>… — is refused with a 400 naming the keyword.
/// </summary>
internal static class GeminiSchema
{
    private static readonly HashSet<string> CopiedStrings = ["description", "title", "format", "pattern"];
    private static readonly HashSet<string> CopiedNumbers = ["minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"];
    private static readonly HashSet<string> Dropped = ["$schema", "$id", "$comment"];

    /// <summary>Whether an object schema declares at least one property.</summary>
    public static bool HasProperties(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object && p.EnumerateObject().Any();

    /// <summary>Writes the Gemini form of <paramref name="schema"/>; <paramref name="path"/> names it in errors.</summary>
    public static void Write(Utf8JsonWriter w, JsonElement schema, string path)
    {
        if (schema.ValueKind != JsonValueKind.Object) throw Refuse(path, "a schema must be an object");
        w.WriteStartObject();
        foreach (var property in schema.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            var at = path + "." + name;
            if (Dropped.Contains(name)) continue;
            switch (name)
            {
                case "type":
                    WriteType(w, value, at);
                    break;
                case "nullable" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    w.WriteBoolean(name, value.GetBoolean());
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                        throw Refuse(at, "Gemini supports only enums of strings");
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                    break;
                case "const":
                    if (value.ValueKind != JsonValueKind.String) throw Refuse(at, "Gemini supports only string constants (as a one-value enum)");
                    w.WriteStartArray("enum");
                    w.WriteStringValue(value.GetString());
                    w.WriteEndArray();
                    break;
                case "properties" when value.ValueKind == JsonValueKind.Object:
                    w.WriteStartObject(name);
                    foreach (var child in value.EnumerateObject())
                    {
                        w.WritePropertyName(child.Name);
                        Write(w, child.Value, at + "." + child.Name);
                    }
                    w.WriteEndObject();
                    break;
                case "items" when value.ValueKind == JsonValueKind.Object:
                    w.WritePropertyName(name);
                    Write(w, value, at);
                    break;
                case "anyOf" when value.ValueKind == JsonValueKind.Array:
                    w.WriteStartArray(name);
                    var i = 0;
                    foreach (var option in value.EnumerateArray()) Write(w, option, $"{at}[{i++}]");
                    w.WriteEndArray();
                    break;
                case "required" or "propertyOrdering" when value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String):
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                    break;
                case "default" or "example":
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                    break;
                case "additionalProperties" when value.ValueKind == JsonValueKind.False:
                    break;
                case var s when CopiedStrings.Contains(s) && value.ValueKind == JsonValueKind.String:
                    w.WriteString(name, value.GetString());
                    break;
                case var n when CopiedNumbers.Contains(n) && value.ValueKind == JsonValueKind.Number:
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                    break;
                default:
                    throw Refuse(at, $"the JSON schema keyword '{name}' (as given) cannot be expressed in Gemini's schema");
            }
        }
        w.WriteEndObject();
    }

    private static void WriteType(Utf8JsonWriter w, JsonElement value, string at)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            w.WriteString("type", GeminiType(value.GetString()!, at));
            return;
        }
        if (value.ValueKind == JsonValueKind.Array)
        {
            var types = value.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "").ToList();
            var nonNull = types.Where(t => t != "null").ToList();
            if (nonNull.Count == 1 && types.Count == 2)
            {
                w.WriteString("type", GeminiType(nonNull[0], at));
                w.WriteBoolean("nullable", true);
                return;
            }
        }
        throw Refuse(at, "Gemini supports one type per schema (optionally with \"null\")");
    }

    private static string GeminiType(string type, string at) => type switch
    {
        "string" => "STRING",
        "number" => "NUMBER",
        "integer" => "INTEGER",
        "boolean" => "BOOLEAN",
        "array" => "ARRAY",
        "object" => "OBJECT",
        _ => throw Refuse(at, $"the type '{type}' cannot be expressed in Gemini's schema"),
    };

    private static InvalidRequestException Refuse(string at, string why) =>
        OpenAiChatRequest.Unsupported(at, $"Unsupported schema at '{at}' for a Gemini model: {why}.");
}
