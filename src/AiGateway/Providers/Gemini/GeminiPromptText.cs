using System.Text.Json;

namespace AiGateway.Providers.Gemini;

/// <summary>Collects the countable text of a generateContent request: system instruction, content parts and function declarations.</summary>
internal static class GeminiPromptText
{
    /// <summary>Adds the request's text to <paramref name="text"/>.</summary>
    public static void Collect(JsonElement root, PromptTextBuilder text)
    {
        if (root.TryGetProperty("systemInstruction", out var system) || root.TryGetProperty("system_instruction", out system))
        {
            if (system.ValueKind == JsonValueKind.String) text.Add(system.GetString());
            else AddParts(system, text);
        }
        if (root.TryGetProperty("contents", out var contents) && contents.ValueKind == JsonValueKind.Array)
            foreach (var content in contents.EnumerateArray())
                AddParts(content, text);
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                text.AddEachRaw(tool, "functionDeclarations");
                text.AddEachRaw(tool, "function_declarations");
            }
        }
    }

    private static void AddParts(JsonElement content, PromptTextBuilder text)
    {
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array)
            return;
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object) continue;
            text.AddString(part, "text");
            if (part.TryGetProperty("functionCall", out var call) || part.TryGetProperty("function_call", out call))
            {
                text.AddString(call, "name");
                text.AddRaw(call, "args");
            }
            if (part.TryGetProperty("functionResponse", out var response) || part.TryGetProperty("function_response", out response))
            {
                text.AddString(response, "name");
                text.AddRaw(response, "response");
            }
            if (part.TryGetProperty("executableCode", out var code)) text.AddString(code, "code");
            if (part.TryGetProperty("codeExecutionResult", out var result)) text.AddString(result, "output");
        }
    }
}
