using System.Text;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class PromptTextTests
{
    private static string Collect(ProviderFormat format, string path, string body)
    {
        var result = ProviderRequestParser.Parse(format, path, null, Encoding.UTF8.GetBytes(body));
        Assert.True(result.IsSuccess, result.Error?.Message);
        using var request = result.Request;
        return PromptText.Collect(request);
    }

    [Fact]
    public void Collect_Anthropic_IncludesSystemBlocksToolUseToolResultAndTools()
    {
        var text = Collect(ProviderFormat.Anthropic, "v1/messages", """
            {"model":"claude","max_tokens":10,
             "system":[{"type":"text","text":"SYSTEM-RULES"}],
             "tools":[{"name":"get_weather","description":"WEATHER-TOOL","input_schema":{"type":"object"}}],
             "messages":[
               {"role":"user","content":"PLAIN-STRING"},
               {"role":"assistant","content":[{"type":"text","text":"ASSISTANT-TEXT"},{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"PARIS"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"SUNNY-RESULT"}]},
                                         {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA-IMAGE"}}]}]}
            """);
        foreach (var piece in new[] { "SYSTEM-RULES", "WEATHER-TOOL", "PLAIN-STRING", "ASSISTANT-TEXT", "PARIS", "SUNNY-RESULT" })
            Assert.Contains(piece, text);
        Assert.DoesNotContain("AAAA-IMAGE", text);
    }

    [Fact]
    public void Collect_AnthropicSystemString_IsIncluded()
    {
        Assert.Contains("BE-BRIEF", Collect(ProviderFormat.Anthropic, "v1/messages", """{"model":"c","system":"BE-BRIEF","messages":[]}"""));
    }

    [Fact]
    public void Collect_Gemini_IncludesSystemInstructionPartsAndFunctionDeclarations()
    {
        var text = Collect(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent", """
            {"systemInstruction":{"parts":[{"text":"SYS-INSTR"}]},
             "contents":[{"role":"user","parts":[{"text":"USER-TEXT"},{"inlineData":{"mimeType":"image/png","data":"BBBB-IMAGE"}}]},
                         {"role":"model","parts":[{"functionCall":{"name":"lookup","args":{"q":"CALL-ARG"}}}]}],
             "tools":[{"functionDeclarations":[{"name":"lookup","description":"LOOKUP-DECL"}]}]}
            """);
        foreach (var piece in new[] { "SYS-INSTR", "USER-TEXT", "CALL-ARG", "LOOKUP-DECL" })
            Assert.Contains(piece, text);
        Assert.DoesNotContain("BBBB-IMAGE", text);
    }

    [Fact]
    public void Collect_OpenAiChat_IncludesMessagePartsAndTools()
    {
        var text = Collect(ProviderFormat.OpenAi, "v1/chat/completions", """
            {"model":"deepseek-chat","messages":[{"role":"user","content":[{"type":"text","text":"PART-TEXT"}]},{"role":"system","content":"SYS"}],
             "tools":[{"type":"function","function":{"name":"f","description":"TOOL-DESC"}}]}
            """);
        Assert.Contains("PART-TEXT", text);
        Assert.Contains("SYS", text);
        Assert.Contains("TOOL-DESC", text);
    }

    [Fact]
    public void Collect_Unmetered_IsEmpty()
    {
        Assert.Equal("", Collect(ProviderFormat.Gemini, "v1beta/models", ""));
    }
}
