using System.Text.Json;

namespace AiGateway.Tokenizers.Tests;

public class ChatTokenCounterTests
{
    // Example messages from the OpenAI Cookbook "How to count tokens with tiktoken", section 6; the notebook prints
    // the API's usage.prompt_tokens for them: 129 for gpt-3.5-turbo / gpt-4 / gpt-4-0613, 124 for gpt-4o / gpt-4o-mini,
    // and (older revision of the notebook) 127 for gpt-3.5-turbo-0301.
    private const string CookbookMessages = """
        [
          {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
          {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
          {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
          {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
          {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
          {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
        ]
        """;

    // Section 7: tools example; the notebook prints 105 for gpt-3.5-turbo / gpt-4 and 101 for gpt-4o / gpt-4o-mini.
    private const string CookbookTools = """
        [{"type": "function", "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {"type": "object", "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}},
              "required": ["location"]}}}]
        """;

    private const string CookbookToolMessages = """
        [
          {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
          {"role": "user", "content": "What's the weather like in San Francisco?"}
        ]
        """;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Theory]
    [InlineData("gpt-3.5-turbo", 129)]
    [InlineData("gpt-4", 129)]
    [InlineData("gpt-4-0613", 129)]
    [InlineData("gpt-4o", 124)]
    [InlineData("gpt-4o-mini", 124)]
    [InlineData("gpt-3.5-turbo-0301", 127)]
    public void CountChatCompletion_CookbookMessages_MatchesPublishedPromptTokens(string model, int expected)
    {
        var body = Json($$"""{"model": "{{model}}", "messages": {{CookbookMessages}}}""");
        Assert.Equal(expected, ChatTokenCounter.CountChatCompletion(body));
    }

    [Theory]
    [InlineData("gpt-3.5-turbo", 105)]
    [InlineData("gpt-4", 105)]
    [InlineData("gpt-4o", 101)]
    [InlineData("gpt-4o-mini", 101)]
    public void CountChatCompletion_CookbookTools_MatchesPublishedPromptTokens(string model, int expected)
    {
        var body = Json($$"""{"model": "{{model}}", "messages": {{CookbookToolMessages}}, "tools": {{CookbookTools}}}""");
        Assert.Equal(expected, ChatTokenCounter.CountChatCompletion(body));
    }

    [Fact]
    public void CountChatCompletion_ModelArgument_OverridesBodyModel()
    {
        var body = Json($$"""{"model": "gpt-4o", "messages": {{CookbookMessages}}}""");
        Assert.Equal(129, ChatTokenCounter.CountChatCompletion(body, "gpt-4"));
    }

    [Fact]
    public void CountChatCompletion_TextPartsArray_CountsLikeStringContent()
    {
        var asString = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":"Hello world, how are you?"}]}""");
        var asParts = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"Hello world, how are you?"}]}]}""");
        Assert.Equal(ChatTokenCounter.CountChatCompletion(asString), ChatTokenCounter.CountChatCompletion(asParts));
    }

    [Fact]
    public void CountChatCompletion_LowDetailImage_Adds85()
    {
        var text = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"}]}]}""");
        var image = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]}]}""");
        Assert.Equal(ChatTokenCounter.CountChatCompletion(text) + 85, ChatTokenCounter.CountChatCompletion(image));
    }

    [Fact]
    public void CountChatCompletion_RemoteImageUnknownSize_AddsHighDetailDefault()
    {
        var text = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[]}]}""");
        var image = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""");
        Assert.Equal(ChatTokenCounter.CountChatCompletion(text) + 765, ChatTokenCounter.CountChatCompletion(image));
    }

    [Fact]
    public void CountChatCompletion_PngDataUrl_UsesDecodedSize()
    {
        var url = "data:image/png;base64," + Convert.ToBase64String(PngHeader(4096, 2048));
        var empty = Json("""{"model":"gpt-4o","messages":[{"role":"user","content":[]}]}""");
        var image = Json($$$"""{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"{{{url}}}","detail":"high"}}]}]}""");
        // 4096×2048 → 2048×1024 → 1536×768 → 3×2 tiles → 6·170 + 85.
        Assert.Equal(ChatTokenCounter.CountChatCompletion(empty) + 1105, ChatTokenCounter.CountChatCompletion(image));
    }

    [Fact]
    public void CountChatCompletion_AssistantToolCallAndToolMessage_CountsNameArgumentsAndContent()
    {
        var enc = TiktokenEncoding.O200kBase;
        var body = Json("""
            {"model":"gpt-4o","messages":[
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_current_weather","arguments":"{\"location\":\"Paris\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"22 degrees and sunny"}]}
            """);
        int expected = 3 + enc.CountTokens("assistant") + enc.CountTokens("get_current_weather") + enc.CountTokens("{\"location\":\"Paris\"}")
            + 3 + enc.CountTokens("tool") + enc.CountTokens("22 degrees and sunny") + 3;
        Assert.Equal(expected, ChatTokenCounter.CountChatCompletion(body));
    }

    [Fact]
    public void CountChatCompletion_UnknownModel_UsesO200k()
    {
        var a = Json($$"""{"model": "claude-sonnet-4-5", "messages": {{CookbookMessages}}}""");
        Assert.Equal(124, ChatTokenCounter.CountChatCompletion(a));
    }

    [Fact]
    public void CountResponses_StringInputWithInstructions_CountsTwoFramedMessages()
    {
        var enc = TiktokenEncoding.O200kBase;
        var body = Json("""{"model":"gpt-4.1","instructions":"Be terse.","input":"Tell me a joke."}""");
        int expected = 3 + enc.CountTokens("system") + enc.CountTokens("Be terse.")
            + 3 + enc.CountTokens("user") + enc.CountTokens("Tell me a joke.") + 3;
        Assert.Equal(expected, ChatTokenCounter.CountResponses(body));
    }

    [Fact]
    public void CountResponses_MessageArrayWithFlatTools_MatchesChatEquivalent()
    {
        var chat = Json($$"""{"model":"gpt-4o","messages":{{CookbookToolMessages}},"tools":{{CookbookTools}}}""");
        var responses = Json("""
            {"model":"gpt-4o",
             "input":[
               {"role":"system","content":"You are a helpful assistant that can answer to questions about the weather."},
               {"type":"message","role":"user","content":[{"type":"input_text","text":"What's the weather like in San Francisco?"}]}],
             "tools":[{"type":"function","name":"get_current_weather","description":"Get the current weather in a given location",
               "parameters":{"type":"object","properties":{
                 "location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},
                 "unit":{"type":"string","description":"The unit of temperature to return","enum":["celsius","fahrenheit"]}}}}]}
            """);
        Assert.Equal(101, ChatTokenCounter.CountChatCompletion(chat));
        Assert.Equal(101, ChatTokenCounter.CountResponses(responses));
    }

    [Fact]
    public void CountPlainRequest_StringArray_SumsCounts()
    {
        var enc = TiktokenEncoding.Cl100kBase;
        var body = Json("""{"model":"text-embedding-3-small","input":["hello world","second text here"]}""");
        Assert.Equal(enc.CountTokens("hello world") + enc.CountTokens("second text here"), ChatTokenCounter.CountPlainRequest(body));
    }

    [Fact]
    public void CountPlainRequest_TokenArrays_CountsLengths()
    {
        Assert.Equal(3, ChatTokenCounter.CountPlainRequest(Json("""{"model":"text-embedding-ada-002","input":[1,2,3]}""")));
        Assert.Equal(5, ChatTokenCounter.CountPlainRequest(Json("""{"model":"text-embedding-ada-002","input":[[1,2],[3,4,5]]}""")));
    }

    [Fact]
    public void CountPlainRequest_CompletionsPrompt_CountsPrompt()
    {
        var body = Json("""{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test"}""");
        Assert.Equal(TiktokenEncoding.Cl100kBase.CountTokens("Say this is a test"), ChatTokenCounter.CountPlainRequest(body));
    }

    [Theory]
    [InlineData(1024, 1024, "high", 765)]
    [InlineData(2048, 4096, "auto", 1105)]
    [InlineData(512, 512, null, 255)]
    [InlineData(4000, 4000, "low", 85)]
    [InlineData(800, 600, "high", 765)]
    [InlineData(300, 200, "high", 255)]
    public void Count_ImageSize_FollowsTileFormula(int w, int h, string? detail, int expected)
    {
        Assert.Equal(expected, ImageTokenCounter.Count(w, h, detail));
    }

    [Fact]
    public void CountUrl_JpegDataUrl_ReadsFrameSize()
    {
        // SOI, APP0 (length 16), SOF0 with height 768 and width 1536.
        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x03, 0x00, 0x06, 0x00, 0x03, 0, 0, 0, 0, 0, 0 };
        var url = "data:image/jpeg;base64," + Convert.ToBase64String(jpeg);
        Assert.Equal(ImageTokenCounter.Count(1536, 768, "high"), ImageTokenCounter.CountUrl(url, "high"));
        Assert.Equal(1105, ImageTokenCounter.CountUrl(url, "high"));
    }

    private static byte[] PngHeader(int width, int height)
    {
        var b = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(b, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), height);
        return b;
    }
}
