using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>A set of top-level property replacements for a JSON object: each name maps to a writer of its new value.</summary>
internal sealed class PropertyOverrides
{
    private readonly List<(string Name, Action<Utf8JsonWriter> WriteValue)> _items = [];

    /// <summary>Whether there is nothing to change.</summary>
    public bool IsEmpty => _items.Count == 0;

    /// <summary>Replaces (or appends) the property <paramref name="name"/>; a later call for the same name wins.</summary>
    public void Set(string name, Action<Utf8JsonWriter> writeValue)
    {
        _items.RemoveAll(i => i.Name == name);
        _items.Add((name, writeValue));
    }

    /// <summary>The replacement for <paramref name="name"/>, if any.</summary>
    public Action<Utf8JsonWriter>? Find(string name)
    {
        foreach (var item in _items)
            if (item.Name == name) return item.WriteValue;
        return null;
    }

    /// <summary>The replacements in the order they were set.</summary>
    public IEnumerable<(string Name, Action<Utf8JsonWriter> WriteValue)> Items => _items;
}

/// <summary>Re-writes a JSON object with some properties replaced, copying every other property as it was and in order.</summary>
internal static class JsonBodyWriter
{
    // Request bodies go to a provider API, not into HTML, so non-ASCII text stays as it was instead of becoming \uXXXX.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Serializes <paramref name="obj"/> with <paramref name="overrides"/> applied.</summary>
    public static byte[] Rewrite(JsonElement obj, PropertyOverrides overrides)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, Options))
            WriteObject(writer, obj, overrides);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes <paramref name="obj"/> (or an empty object when it is not one) with the overrides applied.</summary>
    public static void WriteObject(Utf8JsonWriter writer, JsonElement obj, PropertyOverrides overrides)
    {
        writer.WriteStartObject();
        var done = new HashSet<string>(StringComparer.Ordinal);
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in obj.EnumerateObject())
            {
                var replacement = overrides.Find(property.Name);
                if (replacement is null)
                {
                    property.WriteTo(writer);
                    continue;
                }
                writer.WritePropertyName(property.Name);
                replacement(writer);
                done.Add(property.Name);
            }
        }
        foreach (var (name, writeValue) in overrides.Items)
        {
            if (done.Contains(name)) continue;
            writer.WritePropertyName(name);
            writeValue(writer);
        }
        writer.WriteEndObject();
    }
}
