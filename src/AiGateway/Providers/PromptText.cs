using System.Text;
using System.Text.Json;

namespace AiGateway.Providers;

/// <summary>
/// Collects the prompt text of a request for approximate token counting (providers without an exact local tokenizer).
/// Text parts, tool definitions and tool calls count; images and files do not, so the estimate is a lower bound for them.
/// </summary>
public static class PromptText
{
    /// <summary>Returns the text to tokenize, pieces separated by newlines; empty when the request has no JSON body.</summary>
    public static string Collect(ParsedRequest request)
    {
        if (!request.HasJsonBody) return string.Empty;
        var text = new PromptTextBuilder();
        request.Dialect.CollectPromptText(request, text);
        return text.ToString();
    }
}

/// <summary>Accumulates prompt pieces, one per line.</summary>
internal sealed class PromptTextBuilder
{
    private readonly StringBuilder _text = new();

    /// <summary>Appends a piece of text.</summary>
    public void Add(string? piece)
    {
        if (string.IsNullOrEmpty(piece)) return;
        if (_text.Length > 0) _text.Append('\n');
        _text.Append(piece);
    }

    /// <summary>Appends a string-valued property of <paramref name="obj"/>, if present.</summary>
    public void AddString(JsonElement obj, string name)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            Add(v.GetString());
    }

    /// <summary>Appends the raw JSON of a property (tool schemas, call arguments), if present and not null.</summary>
    public void AddRaw(JsonElement obj, string name)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null)
            Add(v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText());
    }

    /// <summary>Appends the raw JSON of every element of an array property (tool definitions).</summary>
    public void AddEachRaw(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array) return;
        foreach (var item in array.EnumerateArray()) Add(item.GetRawText());
    }

    /// <summary>The collected text.</summary>
    public override string ToString() => _text.ToString();
}
