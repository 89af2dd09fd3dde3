module ucloud-operator.local/tools/pause

go 1.26.0
