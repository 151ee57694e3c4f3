namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>Locates the repository root (the folder holding AiGateway.sln) from the test output folder.</summary>
public static class RepoPaths
{
    /// <summary>The repository root.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AiGateway.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("AiGateway.sln not found above " + AppContext.BaseDirectory);
    }
}
