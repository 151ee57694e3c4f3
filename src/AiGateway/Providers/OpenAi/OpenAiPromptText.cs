using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Best-effort prompt text of OpenAI-format requests, for OpenAI-compatible models the exact tokenizer does not know
/// (OpenAI's own models are counted exactly by the tokenizer library, with chat framing).
/// </summary>
internal static class OpenAiPromptText
{
    /// <summary>Adds the request's text to <paramref name="text"/>.</summary>
    public static void Collect(Operation operation, JsonElement root, PromptTextBuilder text)
    {
        switch (operation)
        {
            case Operation.OpenAiChatCompletions:
                if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
                    foreach (var message in messages.EnumerateArray())
                        AddItem(message, text);
                text.AddEachRaw(root, "tools");
                break;
            case Operation.OpenAiResponses:
                text.AddString(root, "instructions");
                if (root.TryGetProperty("input", out var input))
                {
                    if (input.ValueKind == JsonValueKind.String) text.Add(input.GetString());
                    else if (input.ValueKind == JsonValueKind.Array)
                        foreach (var item in input.EnumerateArray())
                            AddItem(item, text);
                }
                text.AddEachRaw(root, "tools");
                break;
            case Operation.OpenAiCompletions:
                AddStrings(root, "prompt", text);
                break;
            case Operation.OpenAiEmbeddings:
                AddStrings(root, "input", text);
                break;
            default:
                text.AddString(root, "prompt");
                break;
        }
    }

    /// <summary>A chat message or a Responses input item: content (string or parts), tool calls and tool outputs.</summary>
    private static void AddItem(JsonElement item, PromptTextBuilder text)
    {
        if (item.ValueKind != JsonValueKind.Object) return;
        if (item.TryGetProperty("content", out var content))
        {
            if (content.ValueKind == JsonValueKind.String) text.Add(content.GetString());
            else if (content.ValueKind == JsonValueKind.Array)
                foreach (var part in content.EnumerateArray())
                    text.AddString(part, "text");
        }
        if (item.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in calls.EnumerateArray())
            {
                if (!call.TryGetProperty("function", out var function)) continue;
                text.AddString(function, "name");
                text.AddString(function, "arguments");
            }
        }
        // Responses input items: function_call carries arguments, function_call_output carries output.
        text.AddString(item, "arguments");
        text.AddString(item, "output");
    }

    private static void AddStrings(JsonElement root, string name, PromptTextBuilder text)
    {
        if (!root.TryGetProperty(name, out var value)) return;
        if (value.ValueKind == JsonValueKind.String) text.Add(value.GetString());
        else if (value.ValueKind == JsonValueKind.Array)
            foreach (var item in value.EnumerateArray())
                if (item.ValueKind == JsonValueKind.String) text.Add(item.GetString());
    }
}
