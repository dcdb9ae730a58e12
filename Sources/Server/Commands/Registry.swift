// Assembles the command table from each family's declarations.

extension Server {
    func registerBuiltinCommands() {
        commands.register(connectionCommands())
        commands.register(serverCommands())
        commands.register(slowLogCommands())
        commands.register(monitorCommands())
        commands.register(replicationCommands())
        commands.register(transactionCommands())
        commands.register(keyCommands())
        commands.register(stringCommands())
        commands.register(hashCommands())
        commands.register(suggestionCommands())
        commands.register(spellCheckCommands())
        // One coordinator (in cluster mode) wraps every FT command it fans out, FT.AGGREGATE included.
        commands.register(coordinate(searchCommands() + aggregateCommands()))
        commands.register(clusterCommands(installClusterRouting()))
    }
}

/// Declares a command compactly: flags and ACL categories as space-separated words, as in Redis's JSON files.
func command(_ name: String, arity: Int, flags: String, acl: String, keys: KeyPositions = .none, keySpec: String = "",
             group: String, since: String = "1.0.0", summary: String, subcommands: [CommandSpec] = [],
             _ handler: CommandHandler? = nil) -> CommandSpec {
    CommandSpec(name, arity: arity, flags: flags.split(separator: " ").map(String.init),
                categories: acl.split(separator: " ").map(String.init), keys: keys,
                keySpecFlags: keySpec.split(separator: " ").map(String.init), group: group, since: since,
                summary: summary, subcommands: subcommands, handler: handler)
}
