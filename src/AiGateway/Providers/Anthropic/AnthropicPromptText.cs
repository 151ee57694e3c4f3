using System.Text.Json;

namespace AiGateway.Providers.Anthropic;

/// <summary>Collects the countable text of a Messages request: system, message content blocks and tool definitions.</summary>
internal static class AnthropicPromptText
{
    /// <summary>Adds the request's text to <paramref name="text"/>.</summary>
    public static void Collect(JsonElement root, PromptTextBuilder text)
    {
        if (root.TryGetProperty("system", out var system)) AddContent(system, text);
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
            foreach (var message in messages.EnumerateArray())
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content))
                    AddContent(content, text);
        text.AddEachRaw(root, "tools");
    }

    /// <summary>Content is a string or an array of blocks; tool results nest the same shape.</summary>
    private static void AddContent(JsonElement content, PromptTextBuilder text)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            text.Add(content.GetString());
            return;
        }
        if (content.ValueKind != JsonValueKind.Array) return;
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type)) continue;
            switch (type.GetString())
            {
                case "text":
                    text.AddString(block, "text");
                    break;
                case "thinking":
                    text.AddString(block, "thinking");
                    break;
                case "tool_use" or "server_tool_use":
                    text.AddString(block, "name");
                    text.AddRaw(block, "input");
                    break;
                case "tool_result":
                    if (block.TryGetProperty("content", out var result)) AddContent(result, text);
                    break;
                case "document":
                    // Plain-text documents are text; PDFs and images are not countable here.
                    if (block.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.Object
                        && source.TryGetProperty("type", out var sourceType) && sourceType.ValueEquals("text"))
                        text.AddString(source, "data");
                    break;
            }
        }
    }
}
