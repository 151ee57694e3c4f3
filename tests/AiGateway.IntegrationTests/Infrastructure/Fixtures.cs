namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>Reads the shared provider response fixtures (tests/Fixtures, copied to the output folder).</summary>
public static class Fixtures
{
    /// <summary>The text of a fixture, e.g. <c>openai/chat-completion.json</c>.</summary>
    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath));
}
