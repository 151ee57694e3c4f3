using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>Typed reads of request fields that throw <see cref="InvalidRequestException"/> on a wrong type or an absurd value.</summary>
internal static class RequestFields
{
    /// <summary>The largest output-token limit the gateway accepts; far above any model, low enough to be safe in arithmetic.</summary>
    public const int MaxTokensLimit = 10_000_000;

    /// <summary>Ensures the body is a JSON object.</summary>
    public static void RequireObject(JsonValueKind kind)
    {
        if (kind != JsonValueKind.Object)
            throw new InvalidRequestException($"The request body must be a JSON object, but got {Describe(kind)}.");
    }

    /// <summary>A non-empty string field, required.</summary>
    public static string RequiredString(JsonElement obj, string name) =>
        OptionalString(obj, name) ?? throw new InvalidRequestException($"Missing required parameter: '{name}'.", name);

    /// <summary>A string field that may be absent or null; an empty string counts as absent.</summary>
    public static string? OptionalString(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.String) throw WrongType(name, "a string", value);
        var s = value.GetString();
        return string.IsNullOrEmpty(s) ? null : s;
    }

    /// <summary>A boolean field that may be absent or null.</summary>
    public static bool? OptionalBool(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(name, "a boolean", value),
        };
    }

    /// <summary>An integer field in [min, max] that may be absent or null; integral floats such as 100.0 are accepted.</summary>
    public static int? OptionalInt(JsonElement obj, string name, int min, int max)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number) throw WrongType(name, "an integer", value);
        long n;
        if (value.TryGetInt64(out var l)) n = l;
        else if (value.TryGetDouble(out var d) && double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 1e15) n = (long)d;
        else throw new InvalidRequestException($"Invalid value for '{name}': expected an integer, got {value.GetRawText()}.", name);
        if (n < min || n > max)
            throw new InvalidRequestException($"Invalid value for '{name}': {n} is outside the allowed range {min}..{max}.", name);
        return (int)n;
    }

    /// <summary>An array field, required.</summary>
    public static JsonElement RequiredArray(JsonElement obj, string name) =>
        OptionalArray(obj, name) ?? throw new InvalidRequestException($"Missing required parameter: '{name}'.", name);

    /// <summary>An array field that may be absent or null.</summary>
    public static JsonElement? OptionalArray(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Array) throw WrongType(name, "an array", value);
        return value;
    }

    /// <summary>An object field that may be absent or null.</summary>
    public static JsonElement? OptionalObject(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Object) throw WrongType(name, "an object", value);
        return value;
    }

    /// <summary>A field that must be a string or an array when present (prompts, inputs, content).</summary>
    public static void StringOrArray(JsonElement obj, string name, bool required = false)
    {
        if (!TryGet(obj, name, out var value))
        {
            if (required) throw new InvalidRequestException($"Missing required parameter: '{name}'.", name);
            return;
        }
        if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            throw WrongType(name, "a string or an array", value);
    }

    /// <summary>Checks that every element of an array is an object (messages, contents).</summary>
    public static void ArrayOfObjects(JsonElement array, string name)
    {
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) throw WrongType($"{name}[{i}]", "an object", item);
            i++;
        }
    }

    /// <summary>Gets a present, non-null property.</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static InvalidRequestException WrongType(string name, string expected, JsonElement actual) =>
        new($"Invalid type for '{name}': expected {expected}, but got {Describe(actual.ValueKind)} instead.", name);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
